package pipelines

import "github.com/beamsync/beamsync/change"

// UseStreamSource makes RunStream read the registered stream kind instead
// of the job's source, until the returned func is called.
func UseStreamSource(kind string) func() {
	streamSourceOverride = scriptSource{kind: kind}
	return func() { streamSourceOverride = nil }
}

// NewScriptStream plays txns (nil: an undecodable event) from index from.
func NewScriptStream(table *change.Table, txns [][]change.Change, from int) change.Stream {
	return &scriptStream{table: table, txns: txns, next: from}
}
