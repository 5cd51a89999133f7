package main

import (
	"flag"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	// The worker harness: its flags and its beam.Init hook.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness/init"
)

// A Dataflow worker runs the staged runner binary with the Beam harness's
// flags (--worker=true --id=… --control_endpoint=… …) and no command. Such
// a process becomes the worker harness here, before main: beam.Init parses
// nothing itself, so the flags are parsed into the global set the harness
// registered, and beam.Init then serves the runner until it is stopped
// (it exits the process itself).
func init() {
	if !workerInvocation(os.Args[1:]) {
		return
	}
	flag.Parse()
	beam.Init()
	os.Exit(0)
}

// workerInvocation reports whether args are a Beam worker harness's.
func workerInvocation(args []string) bool {
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "worker", "worker=true", "worker=1":
			return strings.HasPrefix(a, "-")
		}
	}
	return false
}
