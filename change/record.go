package change

// Record is one row of a view, as a mapping produced it and sinks write it.
type Record struct {
	// Key holds the view key values in key order.
	Key []any
	// Delete marks a record that removes the key from the view.
	Delete bool
	// Position is the version of the record: the position of the change it
	// was mapped from.
	Position Position
	// SourcePos is the source's native coordinate, for dead letters and logs.
	SourcePos string
	// Doc is the view row (nil for a delete).
	Doc *Doc
}

// RecordBatch is a group of records of one view: the element type between
// the mapping stage and the sinks.
type RecordBatch struct {
	View    string
	Records []Record
	// Ack is the acknowledgement unit of the change batch the records were
	// mapped from (zero in batch pipelines).
	Ack AckToken
}

// The stages a dead letter can come from.
const (
	StageDecode = "decode" // the source could not decode an event
	StageMap    = "map"    // the mapping failed on a row
	StageWrite  = "write"  // a sink could never write the record
)

// DeadLetter is an input that could not be carried to a view, with the
// reason. Nothing that fails is dropped silently: it becomes a dead letter.
type DeadLetter struct {
	View      string   `json:"view,omitempty"`
	Sink      string   `json:"sink,omitempty"`
	Stage     string   `json:"stage"`
	Table     string   `json:"table,omitempty"`
	Key       JSON     `json:"key,omitempty"`
	Position  Position `json:"position"`
	SourcePos string   `json:"source_position,omitempty"`
	Reason    string   `json:"reason"`
	// Row is the input row (or view row, for write failures) as JSON.
	Row JSON `json:"row,omitempty"`
	// Ack is the acknowledgement unit the dead letter belongs to in a
	// stream pipeline (not part of the dead-letter file).
	Ack AckToken `json:"-"`
}

// KeyString renders a key as the text used for document ids and sort-free
// comparisons: a single string key is its text, a single number its decimal
// form, anything else (composite keys included) its JSON array text.
func KeyString(key []any) string {
	if len(key) == 1 {
		switch v := key[0].(type) {
		case string:
			return v
		case int64, uint64, Decimal:
			return string(AppendJSON(nil, v))
		}
	}
	return string(AppendJSON(nil, key))
}

// RowJSON renders a row image as a JSON object keyed by the table's column
// names (Unchanged columns are left out).
func RowJSON(t *Table, row []any) JSON {
	if row == nil {
		return nil
	}
	b := []byte{'{'}
	first := true
	for i, v := range row {
		if IsUnchanged(v) || i >= len(t.Columns) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, t.Columns[i].Name)
		b = append(b, ':')
		b = AppendJSON(b, v)
	}
	return append(b, '}')
}

// Field describes one field of a view row: what sinks derive index
// mappings, table schemas and attribute types from.
type Field struct {
	Name     string  `json:"name"`
	Kind     Kind    `json:"kind"`
	Nullable bool    `json:"nullable"`
	Fields   []Field `json:"fields,omitempty"` // of a nested object (KindObject)
	// Elem is the kind of an array's elements (KindArray), KindAny if mixed or unknown.
	Elem Kind `json:"elem,omitempty"`
}

// ViewSchema is what a sink knows of a view: its name, key and fields.
type ViewSchema struct {
	Name   string   `json:"name"`
	Key    []string `json:"key"`
	Fields []Field  `json:"fields"`
}
