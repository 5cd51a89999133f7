package debezium

import (
	"errors"
	"fmt"
)

// Truncate policies: what a truncate event (op t) of a table does.
const (
	// TruncateFail (the default) fails the job: the table's views still
	// hold the rows the truncate removed.
	TruncateFail = "fail"
	// TruncateIgnore counts and logs the truncate and goes on; the views
	// keep the rows.
	TruncateIgnore = "ignore"
)

// ValidateTruncate checks a truncate policy ("" is TruncateFail).
func ValidateTruncate(policy string) error {
	switch policy {
	case "", TruncateFail, TruncateIgnore:
		return nil
	}
	return fmt.Errorf("truncate %q: use fail (the job stops; re-sync the views from a fresh snapshot) or ignore (the views keep the rows)", policy)
}

// ErrMessage is returned for a logical decoding message (op m): an event
// that changes no table. Callers skip it and count it.
var ErrMessage = errors.New("a logical decoding message (op m): no change of a table")

// TruncateError is returned for a truncate event (op t) of a table the
// Decoder was given. The caller applies its truncate policy.
type TruncateError struct {
	// Table is the truncated table's qualified name.
	Table string
}

func (e *TruncateError) Error() string {
	return fmt.Sprintf("table %s was truncated (op t); its views still hold the rows: re-sync them from a fresh snapshot, or set source.stream.truncate: ignore to go on", e.Table)
}
