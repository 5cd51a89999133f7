//go:build tools

// Package tools pins fsouza/fake-gcs-server, the GCS server the Dataflow
// submission tests stage into. It lives in its own module so that its
// dependencies stay out of beamsync's module graph.
package tools

import _ "github.com/fsouza/fake-gcs-server"
