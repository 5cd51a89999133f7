//go:build !unix

package file

import "os"

// lockFile is a no-op where flock is missing: compactions are serialized
// within the process only.
func lockFile(*os.File) error { return nil }
