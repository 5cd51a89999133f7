package transforms

import (
	"testing"

	"github.com/beamsync/beamsync/change"
)

func TestRowRef(t *testing.T) {
	if got := rowRef(&change.Change{SourcePos: "f.jsonl:3"}); got != "a row without a key at f.jsonl:3" {
		t.Errorf("no key: %q", got)
	}
	if got := rowRef(&change.Change{Key: []any{int64(17)}, Position: 9}); got != "row "+change.KeyString([]any{int64(17)})+" at position 9" {
		t.Errorf("key: %q", got)
	}
}
