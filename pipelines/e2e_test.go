package pipelines_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/pipelines"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// writeJob writes a job file (and its mapping files) into a temp dir.
func writeJob(t *testing.T, job string, mappings map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range mappings {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runJob(t *testing.T, path, runner string) *pipelines.Summary {
	t.Helper()
	j, err := pipelines.Load(path)
	if err != nil {
		t.Fatalf("loading job: %v", err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatalf("preparing job: %v", err)
	}
	sum, err := pipelines.RunBatch(context.Background(), plan, runner)
	if err != nil {
		t.Fatalf("running job on %s: %v", runner, err)
	}
	return sum
}

func compareGolden(t *testing.T, got []byte, golden string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "golden", golden)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("view differs from %s at line %d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

var runners = []string{pipelines.RunnerDirect, pipelines.RunnerPrism}

func TestGoldenPostgresAllTypes(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	sql, err := os.ReadFile("../testdata/postgres/types.sql")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllPostgres(t, dsn, string(sql))
	t.Setenv("GOLDEN_PG_DSN", dsn)
	mapping, err := os.ReadFile("../testdata/golden/pg_all_types.mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			path := writeJob(t, `
name: golden-pg
source: {kind: postgres, dsn_env: GOLDEN_PG_DSN, tables: [public.all_types], chunk_size: 3, parallelism: 2}
views: [view.yaml]
sinks: [{name: out, kind: file, dir: out}]
`, map[string]string{"view.yaml": string(mapping)})
			sum := runJob(t, path, runner)
			if sum.DeadLetters != 0 {
				t.Errorf("dead letters: %d", sum.DeadLetters)
			}
			got, err := os.ReadFile(filepath.Join(filepath.Dir(path), "out", "pg_all_types.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, got, "pg_all_types.jsonl")
		})
	}
}

func TestGoldenMySQLAllTypes(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	sql, err := os.ReadFile("../testdata/mysql/types.sql")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllMySQL(t, dsn, string(sql))
	t.Setenv("GOLDEN_MY_DSN", dsn)
	mapping, err := os.ReadFile("../testdata/golden/mysql_all_types.mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			path := writeJob(t, `
name: golden-mysql
source: {kind: mysql, dsn_env: GOLDEN_MY_DSN, tables: [all_types], chunk_size: 3, parallelism: 2}
views: [view.yaml]
sinks: [{name: out, kind: file, dir: out}]
`, map[string]string{"view.yaml": string(mapping)})
			sum := runJob(t, path, runner)
			if sum.DeadLetters != 0 {
				t.Errorf("dead letters: %d", sum.DeadLetters)
			}
			got, err := os.ReadFile(filepath.Join(filepath.Dir(path), "out", "mysql_all_types.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, got, "mysql_all_types.jsonl")
		})
	}
}
