package opensearch

import (
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/change"
)

// Option configures a Writer.
type Option func(*options)

type options struct {
	dead   func(change.DeadLetter)
	sink   string
	target string
	client *opensearchapi.Client
}

// WithDeadLetter receives the records that can never be written (a value
// a mapped field cannot parse, an over-long id, ...). Calls are serialised.
// Without it such a record fails the writer: nothing is dropped silently.
func WithDeadLetter(fn func(change.DeadLetter)) Option { return func(o *options) { o.dead = fn } }

// WithSinkName names the sink in dead letters (default "opensearch").
func WithSinkName(name string) Option { return func(o *options) { o.sink = name } }

// WithTargetIndex writes into a concrete index instead of the view's alias:
// the index of a full refresh, from BeginRefresh.
func WithTargetIndex(index string) Option { return func(o *options) { o.target = index } }

// withClient shares a client between writers (the caller closes it).
func withClient(c *opensearchapi.Client) Option { return func(o *options) { o.client = c } }
