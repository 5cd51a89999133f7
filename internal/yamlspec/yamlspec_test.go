package yamlspec

import (
	"strings"
	"testing"
)

type inner struct {
	ChunkSize int    `yaml:"chunk_size"`
	Kind      string `yaml:"kind"`
}

type outer struct {
	Name   string  `yaml:"name"`
	Source inner   `yaml:"source"`
	Sinks  []inner `yaml:"sinks"`
	Secret string  `yaml:"-"`
}

func decode(t *testing.T, text string) error {
	t.Helper()
	root, err := Parse("job.yaml", []byte(text))
	if err != nil {
		return err
	}
	var o outer
	return Decode("job.yaml", root, "", &o)
}

func TestDecodeReportsEveryProblemWithPlace(t *testing.T) {
	err := decode(t, "name: x\nsource:\n  chunk_sise: 5\n  kind: [a]\nsinks:\n  - {kind: file, chunk_size: many}\nsecret: no\n")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`job.yaml:3:3: source.chunk_sise: unknown field (did you mean "chunk_size"?)`,
		`job.yaml:4:9: source.kind: expected a text value, found a list`,
		`job.yaml:6:30: sinks[0].chunk_size: expected a whole-number value, found "many"`,
		`job.yaml:7:1: secret: unknown field`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                     "job.yaml: the file is empty",
		"- a\n- b\n":           "job.yaml:1:1: expected a mapping of fields at the top level",
		"name: x\nsource: [\n": "job.yaml:2: did not find expected node content",
		"name: x\n\tkind: y\n": "job.yaml:2: found a tab character that violates indentation",
	} {
		err := decode(t, text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

func TestDecodeValid(t *testing.T) {
	root, err := Parse("job.yaml", []byte("name: x\nsource: {chunk_size: 5, kind: pg}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var o outer
	if err := Decode("job.yaml", root, "", &o); err != nil {
		t.Fatal(err)
	}
	if o.Name != "x" || o.Source.ChunkSize != 5 || o.Source.Kind != "pg" {
		t.Errorf("decoded %+v", o)
	}
}

func TestExpandEnv(t *testing.T) {
	root, err := Parse("job.yaml", []byte("a: ${A}\nb: x-${B:-dflt}-y\nc: [\"${A}\", '$${A}']\nd: ${EMPTY:-fallback}\ne: ${MISSING}\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A": "1", "EMPTY": ""}
	err = ExpandEnv("job.yaml", root, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "job.yaml:5:4: e: environment variable MISSING is not set") {
		t.Fatalf("error %v", err)
	}
	var got struct {
		A, B, D, E string
		C          []string
	}
	if err := root.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.A != "1" || got.B != "x-dflt-y" || got.D != "fallback" || got.C[0] != "1" || got.C[1] != "${A}" {
		t.Errorf("expanded to %+v", got)
	}
}
