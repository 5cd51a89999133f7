package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/beamsync/beamsync/internal/testenv"
)

// invoke runs the CLI in-process and returns its exit code and output.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const peopleRows = `{"id": 1, "name": "Ada", "age": "36"}
{"id": 2, "name": "Grace", "age": "n/a"}
{"id": 3, "name": "Linus", "age": "54"}
`

const filesJob = `name: people
source:
  kind: files
  files:
    - {path: people.jsonl, table: people, key: [id]}
views: [people.yaml]
sinks:
  - {name: out, kind: file, dir: out}
state_dir: state
`

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not mention %q:\n%s", what, sub, s)
		}
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"validate", "--help"}} {
		code, out, _ := invoke(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
	if code, _, errOut := invoke(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %s", code, errOut)
	}
	if code, _, errOut := invoke(t, "run"); code != exitUsage || !strings.Contains(errOut, "--job is required") {
		t.Errorf("run without --job: exit %d, %s", code, errOut)
	}
}

func TestMalformedYAML(t *testing.T) {
	dir := writeFiles(t, map[string]string{"job.yaml": "name: x\nsource:\n  kind: files\n  files: [\n"})
	code, _, errOut := invoke(t, "validate", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	contains(t, "error", errOut, "job.yaml:", "not valid")
}

func TestUnknownField(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     strings.Replace(filesJob, "state_dir: state", "state_dri: state", 1),
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n",
		"people.jsonl": peopleRows,
	})
	code, _, errOut := invoke(t, "validate", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	contains(t, "error", errOut, "job.yaml:9:1", "state_dri", "unknown field", `did you mean "state_dir"`)
}

func TestEveryProblemAtOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{"job.yaml": "name: bad name\nsource: {kind: postgress}\nviews: []\nsinks: [{name: out, kind: file}]\n"})
	code, _, errOut := invoke(t, "validate", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d", code)
	}
	contains(t, "error", errOut, "job.yaml:1:7: name:", `job.yaml:2:16: source.kind: unknown source kind "postgress" (did you mean "postgres"?)`,
		"views: required", "sinks[0].dir: required", "(4 problems)")
}

func TestBrokenMappingNamesFileLineColumn(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  shout: upper(name) +* 1\n",
		"people.jsonl": peopleRows,
	})
	code, _, errOut := invoke(t, "validate", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s", code, exitFail, errOut)
	}
	contains(t, "error", errOut, "people.yaml:6:", "^")
}

func TestRowErrorsAreDeadLetteredAndTheJobFinishes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	code, out, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"), "--progress", "off")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	view, err := os.ReadFile(filepath.Join(dir, "out", "people.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(view), "{\"id\":1,\"name\":\"Ada\",\"age\":36}\n{\"id\":3,\"name\":\"Linus\",\"age\":54}\n"; got != want {
		t.Errorf("view:\n%s\nwant:\n%s", got, want)
	}
	dead, err := os.ReadFile(filepath.Join(dir, "state", "dead_letters", "_dead_letters.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "dead letters", string(dead), `"view":"people"`, `"stage":"map"`, `people.jsonl:2`, `"n/a"`, "age")
	if n := strings.Count(string(dead), "\n"); n != 1 {
		t.Errorf("%d dead letters, want 1:\n%s", n, dead)
	}
	contains(t, "summary", out, "people", "1 dead letters")
}

func TestRowErrorsFailTheJobWhenThePolicySaysSo(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob + "errors: {policy: fail}\n",
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	code, out, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"), "--progress", "off")
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s", code, exitFail, errOut)
	}
	contains(t, "error", errOut, "view people", "people.jsonl:2", "errors.policy is fail")
	// The summary says the run failed, and why; not that it finished.
	contains(t, "summary", out, "FAILED after", "errors.policy is fail")
	if strings.Contains(out, "finished") {
		t.Errorf("the summary of a failed run says it finished:\n%s", out)
	}
}

func pgJob(table string) string {
	return "name: pg\nsource: {kind: postgres, dsn_env: CLI_TEST_DSN, tables: [" + table + "]}\nviews: [v.yaml]\nsinks: [{name: out, kind: file, dir: out}]\n"
}

func TestMissingTable(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, "CREATE TABLE orders (id int PRIMARY KEY)")
	t.Setenv("CLI_TEST_DSN", dsn)
	dir := writeFiles(t, map[string]string{"job.yaml": pgJob("public.ordres"), "v.yaml": "view: v\nsource: public.ordres\nall_columns: true\n"})
	code, _, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d", code)
	}
	contains(t, "error", errOut, "ordres", "orders")
}

func TestUnreachableServer(t *testing.T) {
	t.Setenv("CLI_TEST_DSN", "postgres://beamsync:s3cret-pw@127.0.0.1:1/app?sslmode=disable&connect_timeout=2")
	dir := writeFiles(t, map[string]string{"job.yaml": pgJob("public.orders"), "v.yaml": "view: v\nsource: public.orders\nall_columns: true\n"})
	code, _, errOut := invoke(t, "validate", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d", code)
	}
	contains(t, "error", errOut, "127.0.0.1:1", "CLI_TEST_DSN")
	if strings.Contains(errOut, "s3cret-pw") {
		t.Errorf("the error prints the password:\n%s", errOut)
	}
}

func TestMissingDSNVariable(t *testing.T) {
	os.Unsetenv("CLI_TEST_DSN_UNSET")
	dir := writeFiles(t, map[string]string{
		"job.yaml": strings.Replace(pgJob("public.orders"), "CLI_TEST_DSN", "CLI_TEST_DSN_UNSET", 1),
		"v.yaml":   "view: v\nsource: public.orders\nall_columns: true\n",
	})
	code, _, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d", code)
	}
	contains(t, "error", errOut, "source.dsn_env", "CLI_TEST_DSN_UNSET is not set")
}

func TestWrongPassword(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	user := testenv.UniqueName("u")
	testenv.ExecAllMySQL(t, dsn,
		"CREATE USER '"+user+"'@'%' IDENTIFIED BY 'right-pw'",
		"CREATE USER '"+user+"'@'localhost' IDENTIFIED BY 'right-pw'")
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", dsn); err == nil {
			db.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
			db.Exec("DROP USER IF EXISTS '" + user + "'@'localhost'")
			db.Close()
		}
	})
	cfg, _ := mysql.ParseDSN(dsn)
	cfg.User, cfg.Passwd = user, "wrong-pw"
	t.Setenv("CLI_TEST_DSN", cfg.FormatDSN())
	dir := writeFiles(t, map[string]string{
		"job.yaml": strings.Replace(pgJob("t"), "kind: postgres", "kind: mysql", 1),
		"v.yaml":   "view: v\nsource: t\nall_columns: true\n",
	})
	code, _, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"))
	if code != exitFail {
		t.Fatalf("exit %d", code)
	}
	contains(t, "error", errOut, user, "CLI_TEST_DSN")
	if strings.Contains(errOut, "wrong-pw") {
		t.Errorf("the error prints the password:\n%s", errOut)
	}
}
