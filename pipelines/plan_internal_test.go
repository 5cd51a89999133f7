package pipelines

import (
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

// A view's source table that the job does not read: the message lists
// what it reads (or says it reads none) and names the fix of its source
// kind.
func TestMatchTableMessages(t *testing.T) {
	orders := &change.Table{Schema: "public", Name: "orders"}
	for _, c := range []struct {
		tables []*change.Table
		kind   string
		want   []string
	}{
		{nil, SourceFiles, []string{"the job reads no table", "source.files"}},
		{nil, SourceKafka, []string{"the job reads no table", "source.kafka.topics"}},
		{[]*change.Table{orders}, SourcePostgres, []string{"the job reads: public.orders)", "add it to source.tables"}},
		{[]*change.Table{orders}, SourceFiles, []string{"the job reads: public.orders)", "source.files"}},
	} {
		_, err := matchTable(c.tables, "customers", c.kind)
		if err == nil {
			t.Fatalf("%s: no error", c.kind)
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", c.kind, msg, w)
			}
		}
		if strings.Contains(msg, "reads: )") || (c.kind != SourcePostgres && strings.Contains(msg, "source.tables")) {
			t.Errorf("%s: %q", c.kind, msg)
		}
	}
}

func TestFailOnDeadLetterWithoutKey(t *testing.T) {
	err := failOnDeadLetterFn{}.ProcessElement(change.DeadLetter{Reason: "bad", SourcePos: "f.jsonl:3"})
	if err == nil || strings.Contains(err.Error(), "row  at") || !strings.Contains(err.Error(), "a row without a key at f.jsonl:3") {
		t.Errorf("%v", err)
	}
	err = failOnDeadLetterFn{}.ProcessElement(change.DeadLetter{Reason: "bad", Key: change.JSON(`[17]`), SourcePos: "f.jsonl:3"})
	if err == nil || !strings.Contains(err.Error(), "row [17] at f.jsonl:3") {
		t.Errorf("%v", err)
	}
}
