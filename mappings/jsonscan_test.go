package mappings

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzJSONGetMatchesDecoding checks the scanner against encoding/json: the
// value json_get finds for a key or index equals what decoding the whole
// document and indexing it gives.
func FuzzJSONGetMatchesDecoding(f *testing.F) {
	f.Add(`{"a": 1, "b": {"c": [1, "x", null]}, "a": 2}`, "b", 0)
	f.Add(`[1, [2, 3], {"k": "v\"q"}]`, "k", -1)
	f.Add(`{"k\u0041": true, "kA": false}`, "kA", 5)
	f.Fuzz(func(t *testing.T, doc, key string, idx int) {
		if !json.Valid([]byte(doc)) {
			return
		}
		var whole any
		if err := json.Unmarshal([]byte(doc), &whole); err != nil {
			return
		}
		var want any
		var got []byte
		switch w := whole.(type) {
		case map[string]any:
			want = w[key]
			got = stepRaw([]byte(doc), pathStep{key: key})
		case []any:
			i := idx
			if i < 0 {
				i += len(w)
			}
			if i >= 0 && i < len(w) {
				want = w[i]
			}
			got = stepRaw([]byte(doc), pathStep{isIdx: true, index: idx})
		default:
			return
		}
		var gotV any
		if got != nil {
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatalf("%s: step gave invalid JSON %q", doc, got)
			}
		}
		if !reflect.DeepEqual(gotV, want) {
			t.Fatalf("%s [%q / %d]: got %#v, want %#v", doc, key, idx, gotV, want)
		}
	})
}
