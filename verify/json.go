package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decodeObject decodes a JSON object with exact numbers.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding stored row %.80q: %w", b, err)
	}
	if m == nil {
		return nil, fmt.Errorf("stored row %.80q is not a JSON object", b)
	}
	return m, nil
}
