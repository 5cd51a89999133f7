package pipelines

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/beamsync/beamsync/internal/yamlspec"
	"github.com/beamsync/beamsync/mappings"
	"github.com/beamsync/beamsync/sinks/bigquery"
	"github.com/beamsync/beamsync/sinks/dynamodb"
	"github.com/beamsync/beamsync/sinks/opensearch"
	"github.com/beamsync/beamsync/sources/debezium"
	"github.com/beamsync/beamsync/sources/kafka"
	"github.com/beamsync/beamsync/sources/mysql"
)

// Job is a job spec: where rows come from, which views they are mapped into
// and which sinks hold the views. Relative paths in a job file are relative
// to the job file's directory. Values may use ${VAR} and ${VAR:-default} to
// take settings from the environment (endpoints, projects); secrets are read
// only through the *_env fields, so they never enter a pipeline's graph.
type Job struct {
	Name   string     `yaml:"name"`
	Source SourceSpec `yaml:"source"`
	// Sources, instead of Source, names several sources (the databases of
	// several services); views name their tables "<source>.<table>".
	Sources  []SourceSpec `yaml:"sources"`
	Views    []ViewRef    `yaml:"views"`
	Sinks    []SinkSpec   `yaml:"sinks"`
	StateDir string       `yaml:"state_dir"`
	Errors   ErrorPolicy  `yaml:"errors"`

	// File is the job file's path, Dir its directory.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	root *yaml.Node
}

// Source kinds.
const (
	SourcePostgres = "postgres"
	SourceMySQL    = "mysql"
	SourceFiles    = "files"
	SourceKafka    = "kafka"
)

// SourceSpec says where rows come from.
type SourceSpec struct {
	// Name names one of a job's several sources (sources:).
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// DSNEnv names the environment variable that holds the connection
	// string (postgres, mysql). Secrets never appear in a job file.
	DSNEnv            string   `yaml:"dsn_env"`
	Tables            []string `yaml:"tables"`
	ChunkSize         int      `yaml:"chunk_size"`
	Parallelism       int      `yaml:"parallelism"`
	BatchSize         int      `yaml:"batch_size"`
	AllowNoPrimaryKey bool     `yaml:"allow_no_primary_key"`
	// ZeroDates (mysql): what becomes of zero and invalid dates
	// ("0000-00-00", "2024-02-31"): keep (default), null or dead_letter.
	ZeroDates string       `yaml:"zero_dates"`
	Files     []FileSource `yaml:"files"`
	// Stream configures change capture (run --mode stream).
	Stream StreamSourceSpec `yaml:"stream"`
	// Kafka configures a kafka source: Debezium change events on topics.
	Kafka *kafka.Config `yaml:"kafka"`
	// Cursor makes batch runs incremental by a cursor column (postgres,
	// mysql; see CursorSpec).
	Cursor *CursorSpec `yaml:"cursor"`
}

// StreamSourceSpec configures a source's change capture. Each field names
// the source kinds it applies to.
type StreamSourceSpec struct {
	// Slot and Publication (postgres) default to "beamsync_<job name>".
	Slot        string `yaml:"slot"`
	Publication string `yaml:"publication"`
	// StatusInterval (postgres) is how often the stream reports its
	// acknowledged position and asks for a keepalive (default 10s).
	StatusInterval time.Duration `yaml:"status_interval"`
	// Toast (postgres): require_full (default) or unchanged.
	Toast string `yaml:"toast"`
	// ServerID (mysql) is the replica server id the stream connects with
	// (default: derived from the job name).
	ServerID uint32 `yaml:"server_id"`
	// Heartbeat (mysql) is the binlog heartbeat period (default 5s).
	Heartbeat time.Duration `yaml:"heartbeat"`
	// Truncate (postgres, mysql, and the Debezium events of kafka and
	// files sources): fail (default) or ignore.
	Truncate string `yaml:"truncate"`
}

// FileSource is one file (or glob) of a files source.
type FileSource struct {
	Path   string   `yaml:"path"`
	Format string   `yaml:"format"` // jsonl (default) | debezium
	Table  string   `yaml:"table"`
	Key    []string `yaml:"key"`
	// Outbox (format debezium) routes the events of a transactional
	// outbox table to the aggregates' tables.
	Outbox *debezium.Outbox `yaml:"outbox"`
}

// ViewRef names a mapping file and, optionally, the sinks its view goes to
// (all sinks when empty). In YAML it is either the mapping path or a mapping
// of `mapping` and `sinks`.
type ViewRef struct {
	Mapping string   `yaml:"mapping"`
	Sinks   []string `yaml:"sinks"`
}

// UnmarshalYAML accepts a bare path or the full form.
func (v *ViewRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v.Mapping = n.Value
		return nil
	}
	type plain ViewRef
	return n.Decode((*plain)(v))
}

// Sink kinds.
const (
	SinkFile       = "file"
	SinkDynamoDB   = "dynamodb"
	SinkOpenSearch = "opensearch"
	SinkBigQuery   = "bigquery"
)

// SinkSpec configures one sink.
type SinkSpec struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// file sink
	Dir       string `yaml:"dir"`
	Mode      string `yaml:"mode"`
	SpillRows int    `yaml:"spill_rows"`
	// The configuration block of the sink's kind (exactly one, matching Kind).
	DynamoDB   *dynamodb.Config   `yaml:"dynamodb"`
	OpenSearch *opensearch.Config `yaml:"opensearch"`
	BigQuery   *bigquery.Config   `yaml:"bigquery"`
}

// ErrorPolicy says what bad input does to a job.
type ErrorPolicy struct {
	// Policy is dead_letter (default: bad rows go to the dead-letter file and
	// the job goes on, views may still say on_error: fail) or fail (the first
	// bad row fails the job).
	Policy string `yaml:"policy"`
	// MaxDeadLetters fails the job (non-zero exit) when more rows than this
	// were dead-lettered; unset means no limit.
	MaxDeadLetters *int64 `yaml:"max_dead_letters"`
	// DeadLetterDir is where dead letters are written (default:
	// <state_dir>/dead_letters).
	DeadLetterDir string `yaml:"dead_letter_dir"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Load reads, decodes and validates a job file, and parses its mapping files.
// Every problem is reported at once, each with file, line and column.
func Load(path string) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading job file: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a job from its text; path locates relative paths.
func Parse(path string, data []byte) (*Job, error) {
	root, err := yamlspec.Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := yamlspec.ExpandEnv(path, root, os.LookupEnv); err != nil {
		return nil, err
	}
	j := &Job{}
	if err := yamlspec.Decode(path, root, "", j); err != nil {
		return nil, err
	}
	j.File, j.Dir, j.root = path, filepath.Dir(path), root
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return j, nil
}

// Path resolves a path of the job file against its directory.
func (j *Job) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(j.Dir, p)
}

// StatePath is the job's state directory (default .beamsync/<name>).
func (j *Job) StatePath() string {
	if j.StateDir != "" {
		return j.Path(j.StateDir)
	}
	return j.Path(filepath.Join(".beamsync", j.Name))
}

// DeadLetterPath is where dead letters are written.
func (j *Job) DeadLetterPath() string {
	if j.Errors.DeadLetterDir != "" {
		return j.Path(j.Errors.DeadLetterDir)
	}
	return filepath.Join(j.StatePath(), "dead_letters")
}

// errAt builds an error located at the node of a dotted path (falling back
// to its nearest existing parent).
func (j *Job) errAt(path, format string, args ...any) error {
	return yamlspec.At(j.File, nodeAt(j.root, path), path, format, args...)
}

// Validate checks the job's meaning: kinds, required fields, references,
// mapping files. It reports every problem at once.
func (j *Job) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, j.errAt(path, format, args...)) }

	if j.Name == "" {
		add("name", "required: a name for the job (letters, digits, - and _)")
	} else if !nameRE.MatchString(j.Name) {
		add("name", "%q is not a valid name: use letters, digits, - and _", j.Name)
	}
	if len(j.Sources) > 0 {
		errs = append(errs, j.validateSources()...)
	} else {
		errs = append(errs, j.validateSource()...)
	}

	if len(j.Sinks) == 0 {
		add("sinks", "required: at least one sink, e.g. {name: views, kind: file, dir: out/views}")
	}
	sinkNames := map[string]bool{}
	for i, s := range j.Sinks {
		p := fmt.Sprintf("sinks[%d]", i)
		if s.Name == "" {
			add(p+".name", "required: a name for the sink")
		} else if sinkNames[s.Name] {
			add(p+".name", "sink name %q is used twice", s.Name)
		}
		sinkNames[s.Name] = true
		errs = append(errs, j.validateSink(p, &s)...)
	}

	if len(j.Views) == 0 {
		add("views", "required: at least one mapping file")
	}
	for i, v := range j.Views {
		p := fmt.Sprintf("views[%d]", i)
		if v.Mapping == "" {
			add(p, "required: the path of a mapping file")
			continue
		}
		if _, err := mappings.ParseFile(j.Path(v.Mapping)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				add(p, "mapping file %s does not exist", j.Path(v.Mapping))
			} else {
				errs = append(errs, err)
			}
		}
		for k, sn := range v.Sinks {
			if !sinkNames[sn] {
				add(fmt.Sprintf("%s.sinks[%d]", p, k), "no sink is named %q", sn)
			}
		}
	}

	switch j.Errors.Policy {
	case "", "dead_letter", "fail":
	default:
		add("errors.policy", "%q is not an error policy: use dead_letter or fail", j.Errors.Policy)
	}
	if m := j.Errors.MaxDeadLetters; m != nil && *m < 0 {
		add("errors.max_dead_letters", "must not be negative")
	}
	yamlspec.SortErrors(errs)
	return errors.Join(errs...)
}

func (j *Job) validateSource() []error {
	errs := j.validateSourceAt("source", &j.Source)
	if j.Source.Name != "" {
		errs = append(errs, j.errAt("source.name", "a single source needs no name (names are for the entries of sources:)"))
	}
	errs = append(errs, j.validateStream()...)
	errs = append(errs, j.validateCursor()...)
	return errs
}

// validateSources checks the entries of sources: (several sources, read in
// batch mode).
func (j *Job) validateSources() []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, j.errAt(path, format, args...)) }
	if nodeAt(j.root, "source") != j.root {
		add("source", "set source (one source) or sources (several), not both")
	}
	names := map[string]bool{}
	for i := range j.Sources {
		s := &j.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			add(p+".name", "required: a name for the source (views name its tables <name>.<table>)")
		case !nameRE.MatchString(s.Name):
			add(p+".name", "%q is not a valid name: use letters, digits, - and _", s.Name)
		case names[s.Name]:
			add(p+".name", "source name %q is used twice", s.Name)
		}
		names[s.Name] = true
		if s.Kind == SourceKafka {
			add(p+".kind", "a kafka source only streams, and a job with several sources runs in batch mode: give it a job of its own")
			continue
		}
		errs = append(errs, j.validateSourceAt(p, s)...)
		for _, k := range []string{"stream", "cursor"} {
			if nodeAt(j.root, p+"."+k) != nodeAt(j.root, p) {
				add(p+"."+k, "not supported in a job with several sources (it runs in batch mode, reading every table in full)")
			}
		}
	}
	return errs
}

// sourcePath is the job-file path of a source's settings.
func (j *Job) sourcePath(s *SourceSpec) string {
	for i := range j.Sources {
		if &j.Sources[i] == s {
			return fmt.Sprintf("sources[%d]", i)
		}
	}
	return "source"
}

func (j *Job) validateSourceAt(at string, s *SourceSpec) []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, j.errAt(at+strings.TrimPrefix(path, "source"), format, args...))
	}
	switch s.Kind {
	case SourcePostgres, SourceMySQL:
		if s.DSNEnv == "" {
			add("source.dsn_env", "required: the name of the environment variable holding the connection string (secrets are never written in a job file)")
		}
		if len(s.Tables) == 0 {
			add("source.tables", "required: the tables to read")
		}
		if len(s.Files) > 0 {
			add("source.files", "only for a files source")
		}
	case SourceFiles:
		if len(s.Files) == 0 {
			add("source.files", "required: the files to read, e.g. [{path: data/orders.jsonl, table: orders, key: [id]}]")
		}
		for i, f := range s.Files {
			p := fmt.Sprintf("source.files[%d]", i)
			if f.Path == "" {
				add(p+".path", "required: a file path or glob")
			}
			switch f.Format {
			case "", "jsonl":
				if f.Table == "" {
					add(p+".table", "required for jsonl files: the table the rows belong to")
				}
				if len(f.Key) == 0 {
					add(p+".key", "required for jsonl files: the primary-key column names")
				}
			case "debezium":
			default:
				add(p+".format", "%q is not a file format: use jsonl or debezium", f.Format)
			}
		}
		for _, k := range []string{"dsn_env", "tables"} {
			if nodeAt(j.root, at+"."+k) != nodeAt(j.root, at) {
				add("source."+k, "not used by a files source")
			}
		}
	case SourceKafka:
		if s.Kafka == nil {
			add("source.kafka", "required for a kafka source: {brokers: [host:9092], topics: [dbserver1.shop.orders]}")
		} else {
			cfg := j.kafkaConfig()
			if err := cfg.Validate(); err != nil {
				for _, e := range unjoin(err) {
					add("source.kafka", "%s", strings.TrimPrefix(e.Error(), "kafka source: "))
				}
			}
		}
		for _, k := range []string{"dsn_env", "tables", "files", "chunk_size", "parallelism"} {
			if nodeAt(j.root, at+"."+k) != nodeAt(j.root, at) {
				add("source."+k, "not used by a kafka source (see source.kafka)")
			}
		}
	case "":
		add("source.kind", "required: postgres, mysql, files or kafka")
	default:
		add("source.kind", "unknown source kind %q%s; known kinds: postgres, mysql, files, kafka", s.Kind,
			yamlspec.DidYouMean(s.Kind, []string{SourcePostgres, SourceMySQL, SourceFiles, SourceKafka}))
	}
	if s.Kind != SourceKafka && s.Kafka != nil {
		add("source.kafka", "only for a kafka source")
	}
	if n := nodeAt(j.root, at+".zero_dates"); n != nodeAt(j.root, at) && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == "null" {
		s.ZeroDates = mysql.ZeroDatesNull // zero_dates: null is the policy, not YAML's nothing
	}
	switch {
	case s.ZeroDates == "":
	case s.Kind != SourceMySQL:
		add("source.zero_dates", "only for a mysql source (MySQL and MariaDB store zero and invalid dates)")
	case s.ZeroDates != mysql.ZeroDatesKeep && s.ZeroDates != mysql.ZeroDatesNull && s.ZeroDates != mysql.ZeroDatesDeadLetter:
		add("source.zero_dates", "%q: use keep (the default: the value as the server shows it, \"0000-00-00\"), null, or dead_letter", s.ZeroDates)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"chunk_size", s.ChunkSize}, {"parallelism", s.Parallelism}, {"batch_size", s.BatchSize}} {
		if f.v < 0 {
			add("source."+f.name, "must not be negative")
		}
	}
	if s.Parallelism > 64 {
		add("source.parallelism", "%d readers is more than 64; each holds a database connection", s.Parallelism)
	}
	return errs
}

// nodeAt finds the node of a dotted path like "sinks[0].dir", or the nearest
// parent that exists.
func nodeAt(root *yaml.Node, path string) *yaml.Node {
	n := root
	if n == nil || path == "" {
		return n
	}
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		next := child(n, name)
		if next == nil {
			return n
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return n
			}
			n = n.Content[idx]
		}
	}
	return n
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// validateStream checks source.stream: each field only where its source
// kind reads it.
func (j *Job) validateStream() []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, j.errAt(path, format, args...)) }
	st, kind := &j.Source.Stream, j.Source.Kind
	given := func(field string) bool {
		return nodeAt(j.root, "source.stream."+field) != nodeAt(j.root, "source.stream")
	}
	only := func(field string, kinds ...string) {
		if given(field) && !slices.Contains(kinds, kind) {
			add("source.stream."+field, "not used by a %s source (only %s)", kind, strings.Join(kinds, ", "))
		}
	}
	only("slot", SourcePostgres)
	only("publication", SourcePostgres)
	only("status_interval", SourcePostgres)
	only("toast", SourcePostgres)
	only("server_id", SourceMySQL)
	only("heartbeat", SourceMySQL)
	only("truncate", SourcePostgres, SourceMySQL, SourceKafka, SourceFiles)
	if st.Truncate != "" && st.Truncate != "fail" && st.Truncate != "ignore" {
		add("source.stream.truncate", "%q: use fail (the stream stops; re-sync with --snapshot always) or ignore", st.Truncate)
	}
	if st.Toast != "" && st.Toast != "require_full" && st.Toast != "unchanged" {
		add("source.stream.toast", "%q: use require_full or unchanged", st.Toast)
	}
	if st.StatusInterval < 0 || st.Heartbeat < 0 {
		add("source.stream", "durations must not be negative")
	}
	if kind == SourceMySQL {
		scfg := j.mysqlStreamConfig()
		if err := scfg.Validate(); err != nil {
			add("source.stream", "%v", err)
		}
	}
	if kind == SourcePostgres {
		scfg := j.postgresStreamConfig().WithDefaults()
		if err := scfg.Validate(); err != nil {
			add("source.stream", "%v", err)
		}
	}
	return errs
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
