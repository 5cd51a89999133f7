//go:build tools

// Package tools pins the BigQuery emulator the tests run against. It lives in
// its own module so that its SQL engine stays out of beamsync's module graph.
//
// Like the rest of beamsync it is licensed under the Apache License 2.0
// (LICENSE at the repository root).
package tools

import _ "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"
