package file

import (
	"errors"
	"fmt"
	"os"

	"github.com/beamsync/beamsync/change"
)

// ErrNoView says a view has no file (it was never committed).
var ErrNoView = errors.New("file sink: the view has no file")

// ViewPath returns the path of a view's JSON-lines file.
func ViewPath(cfg Config, view string) string { return viewPath(cfg, view) }

// Version is one key of a view's versions sidecar: its winning position,
// and whether it is deleted (a tombstone).
type Version struct {
	Key      []any
	Position change.Position
	Deleted  bool
}

// ScanVersions calls fn with every key of a view's versions sidecar, in
// key order (tombstones included). A view without a sidecar returns
// ErrNoView (wrapped). The sidecar is read on its own: whether the view
// file still matches it (a hand edit) is for the caller to find out, by
// reading the view file (ViewPath) and comparing.
func ScanVersions(cfg Config, view string, fn func(Version) error) error {
	path := versionsPath(cfg, view)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing", ErrNoView, path)
	}
	fr, err := openFrames(path, versionsMagic, versionsFooterLen)
	if err != nil {
		return err
	}
	defer fr.close()
	var e entry
	for {
		ok, err := fr.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := parseEntry(fr.frame, &e); err != nil {
			return fr.fail(err)
		}
		if err := fn(Version{Key: e.values(), Position: change.Position(e.pos), Deleted: e.del}); err != nil {
			return err
		}
	}
}
