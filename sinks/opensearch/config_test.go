package opensearch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{Addresses: []string{"http://localhost:9200"}}).Validate(); err != nil {
		t.Fatalf("a minimal configuration: %v", err)
	}
	bad := Config{
		Addresses:   []string{"localhost:9200", "https://admin:secret@host:9200"},
		UsernameEnv: "OS_USER",
		Index:       "Views-{view}-{table}",
		Mode:        "merge",
		Deletes:     "soft",
		BatchRows:   -1,
		Retry:       retry.Policy{Attempts: -1},
		Mappings:    map[string]any{"properties": map[string]any{"_beamsync_version": map[string]any{"type": "keyword"}}},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken configuration")
	}
	for _, part := range []string{`addresses: "localhost:9200"`, "carries credentials", "username_env/password_env: set both",
		"index:", "{view}", `mode: "merge"`, `deletes: "soft"`, "batch_rows:", "retry:", "mappings: properties._beamsync_version"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("the error does not name %q:\n%v", part, err)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Error("the error shows a password")
	}
}

func TestConfigDefaultsAndNames(t *testing.T) {
	c := Config{}.WithDefaults()
	want := Config{Index: "{view}", Mode: ModeUpsert, BatchRows: 1000, BatchBytes: 5 << 20, FlushInterval: time.Second,
		Concurrency: 2, Deletes: DeletesTombstone, Retry: retry.Policy{}.WithDefaults()}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults = %+v", c)
	}
	c.Index = "bs-{view}"
	if name, err := c.AliasName("orders"); err != nil || name != "bs-orders" {
		t.Fatalf("AliasName = %q, %v", name, err)
	}
	if _, err := c.AliasName("Orders"); err == nil || !strings.Contains(err.Error(), "lower case") {
		t.Fatalf("AliasName of an upper-case view = %v", err)
	}
}

func TestConfigFromYAML(t *testing.T) {
	var c Config
	src := `
addresses: [https://search:9200]
username_env: OS_USER
password_env: OS_PASSWORD
index: "bs-{view}"
mode: replace
flush_interval: 2s
retry: {initial_backoff: 50ms, max_attempts: 5}
settings: {index: {number_of_replicas: 0}}
mappings: {properties: {name: {type: keyword}}}
`
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.FlushInterval != 2*time.Second || c.Retry.Initial != 50*time.Millisecond || c.Mode != ModeReplace {
		t.Fatalf("decoded %+v", c)
	}
	if got := c.settingsFor(); !reflect.DeepEqual(got, map[string]any{"index.number_of_replicas": 0}) {
		t.Fatalf("settings = %v", got)
	}
}

func TestDeriveMappings(t *testing.T) {
	view := allTypesView("v")
	got, _ := json.Marshal(DeriveMappings(view))
	want := `{"dynamic":"false","properties":{` +
		`"_beamsync_deleted":{"type":"boolean"},"_beamsync_version":{"type":"long"},` +
		`"active":{"type":"boolean"},` +
		`"addr":{"properties":{"city":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"},"zip":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}}},` +
		`"at":{"type":"keyword"},` +
		`"blob":{"type":"binary"},` +
		`"created":{"format":"strict_date_optional_time_nanos","type":"date"},` +
		`"day":{"format":"strict_date_optional_time","type":"date"},` +
		`"id":{"type":"long"},` +
		`"meta":{"enabled":false,"type":"object"},` +
		`"name":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"},` +
		`"price":{"fields":{"double":{"ignore_malformed":true,"type":"double"}},"type":"keyword"},` +
		`"qty":{"type":"long"},` +
		`"ratio":{"type":"double"},` +
		`"scores":{"type":"double"},` +
		`"span":{"type":"keyword"},` +
		`"tags":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}}}`
	if string(got) != want {
		t.Fatalf("mappings:\n%s\nwant\n%s", got, want)
	}
}

func TestMappingOverrides(t *testing.T) {
	view := change.ViewSchema{Name: "v", Fields: []change.Field{
		{Name: "name", Kind: change.KindString}, {Name: "code", Kind: change.KindString}, {Name: "n", Kind: change.KindInt}}}
	cfg := Config{Mappings: map[string]any{
		"dynamic": "strict",
		"_meta":   map[string]any{"owner": "search team"},
		"properties": map[string]any{
			"name":  map[string]any{"type": "keyword"},                                                       // replaces
			"code":  map[string]any{"fields": map[string]any{"keyword": map[string]any{"ignore_above": 32}}}, // merges
			"added": map[string]any{"type": "keyword"},
		},
	}}
	got := cfg.mappingsFor(view)
	props := got["properties"].(map[string]any)
	if !reflect.DeepEqual(props["name"], map[string]any{"type": "keyword"}) {
		t.Errorf("name = %v, want the override alone", props["name"])
	}
	code, _ := json.Marshal(props["code"])
	if string(code) != `{"fields":{"keyword":{"ignore_above":32,"type":"keyword"}},"type":"text"}` {
		t.Errorf("code = %s, want the derived mapping with ignore_above 32", code)
	}
	if props["added"] == nil || props["n"] == nil || props[VersionField] == nil || got["dynamic"] != "strict" || got["_meta"] == nil {
		t.Errorf("mappings = %v", got)
	}
	if d := DeriveMappings(view); d["dynamic"] != "false" {
		t.Error("the override changed the derived mappings")
	}
}

func TestCheckView(t *testing.T) {
	v := change.ViewSchema{Name: "v", Fields: []change.Field{{Name: "ok"}, {Name: "a.b"}, {Name: "_source"}, {Name: "_beamsync_x"},
		{Name: "o", Kind: change.KindObject, Fields: []change.Field{{Name: ""}, {Name: "_id"}}}}}
	err := CheckView(v)
	for _, part := range []string{`"a.b"`, `"_source"`, `"_beamsync_x"`, `field of "o."`} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("CheckView error %v does not name %s", err, part)
		}
	}
	if err != nil && strings.Contains(err.Error(), `"o._id"`) {
		t.Error("a nested _id is an ordinary field")
	}
}
