//go:build tools

// Package tools pins fsouza/fake-gcs-server, the GCS server the Dataflow
// submission tests stage into. It lives in its own module so that its
// dependencies stay out of beamsync's module graph.
//
// Like the rest of beamsync it is licensed under the Apache License 2.0
// (LICENSE at the repository root).
package tools

import _ "github.com/fsouza/fake-gcs-server"
