package mappings

import (
	"bytes"
	"encoding/json"
)

// Scanning helpers over JSON text already known to be valid: json_get walks
// to the value a path names without decoding anything else.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string token starting at b[i] ('"')
// and whether it holds an escape.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// valueEnd returns the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

// member returns the value of key in the object raw (valid JSON), or nil.
// With duplicate keys the last one wins, as with encoding/json.
func member(raw []byte, key string) []byte {
	var found []byte
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] == '"' {
		kEnd, esc := stringEnd(raw, i)
		k := raw[i+1 : kEnd-1]
		match := false
		if esc {
			var s string
			match = json.Unmarshal(raw[i:kEnd], &s) == nil && s == key
		} else {
			match = string(k) == key
		}
		i = skipSpace(raw, kEnd)
		i = skipSpace(raw, i+1) // ':'
		vEnd := valueEnd(raw, i)
		if match {
			found = raw[i:vEnd]
		}
		i = skipSpace(raw, vEnd)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return found
}

// element returns the idx-th element (negative from the end) of the array
// raw (valid JSON), or nil.
func element(raw []byte, idx int) []byte {
	var starts, ends []int
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] != ']' {
		end := valueEnd(raw, i)
		if idx >= 0 && len(starts) == idx {
			return raw[i:end]
		}
		starts, ends = append(starts, i), append(ends, end)
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	if idx < 0 && -idx <= len(starts) {
		k := len(starts) + idx
		return raw[starts[k]:ends[k]]
	}
	return nil
}

// stepRaw follows one path step through valid JSON text.
func stepRaw(raw []byte, st pathStep) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch {
	case st.isIdx && raw[0] == '[':
		return element(raw, st.index)
	case !st.isIdx && raw[0] == '{':
		return member(raw, st.key)
	}
	return nil
}
