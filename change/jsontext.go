package change

import (
	"bytes"
	"encoding/json"
	"fmt"
)

func isValidJSON(b []byte) bool { return json.Valid(b) }

// appendCompactJSON appends valid JSON text without insignificant space.
func appendCompactJSON(b []byte, x []byte) []byte {
	if !bytes.ContainsAny(x, " \t\r\n") {
		return append(b, x...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, x); err != nil {
		return append(b, x...)
	}
	return append(b, buf.Bytes()...)
}

func fmtAny(v any) string { return fmt.Sprint(v) }
