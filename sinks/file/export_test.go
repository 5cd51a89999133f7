package file

// The child process of TestCompactionSurvivesKill9 (started by the test
// binary's TestMain, in write_test.go).
var RunCompactChild = runCompactChild

const (
	CompactChildEnv     = compactChildEnv
	CompactChildStepEnv = compactChildStepEnv
)
