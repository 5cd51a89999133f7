package opensearch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beamsync/beamsync/internal/retry"
)

// The write modes.
const (
	ModeUpsert  = "upsert"  // write into the view's index (created with its alias if missing)
	ModeReplace = "replace" // full refresh: a new index, swapped under the alias when complete
)

// The ways deletes are written.
const (
	DeletesTombstone = "tombstone" // index a tombstone document, hidden by the alias filter
	DeletesHard      = "hard"      // delete the document (see the package documentation)
)

// Defaults.
const (
	DefaultIndex         = "{view}"
	DefaultBatchRows     = 1000
	DefaultBatchBytes    = 5 << 20
	DefaultFlushInterval = time.Second
	DefaultConcurrency   = 2
)

// Config configures the OpenSearch sink. Secrets are never part of it: the
// username and password are read from the environment variables it names.
type Config struct {
	// Addresses are the base URLs of the cluster's nodes ("https://host:9200").
	Addresses []string `yaml:"addresses" json:"addresses"`
	// UsernameEnv and PasswordEnv name the environment variables holding the
	// basic-auth credentials (both or neither).
	UsernameEnv string `yaml:"username_env" json:"username_env,omitempty"`
	PasswordEnv string `yaml:"password_env" json:"password_env,omitempty"`
	// InsecureSkipVerify disables TLS certificate verification (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`

	// Index is the name template of the view's alias; "{view}" is replaced
	// by the view name (default "{view}"). Indices behind the alias are named
	// <alias>-<suffix>.
	Index string `yaml:"index" json:"index,omitempty"`
	// Mode is "upsert" (default) or "replace" (full refresh).
	Mode string `yaml:"mode" json:"mode,omitempty"`
	// Settings and Mappings are merged over the ones derived from the view
	// (see the package documentation for the rules).
	Settings map[string]any `yaml:"settings" json:"settings,omitempty"`
	Mappings map[string]any `yaml:"mappings" json:"mappings,omitempty"`

	// A batch is sent when it holds BatchRows records (default 1000) or
	// BatchBytes bytes (default 5 MiB), or when its first record is
	// FlushInterval old (default 1s) at the next Add.
	BatchRows     int           `yaml:"batch_rows" json:"batch_rows,omitempty"`
	BatchBytes    int           `yaml:"batch_bytes" json:"batch_bytes,omitempty"`
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval,omitempty"`
	// Concurrency bounds the _bulk requests one writer has in flight
	// (default 2).
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// Retry bounds the retries of failed requests and items.
	Retry retry.Policy `yaml:"retry" json:"retry"`
	// Deletes is "tombstone" (default) or "hard".
	Deletes string `yaml:"deletes" json:"deletes,omitempty"`
	// Infinity is what an infinite timestamp or date, which a date field
	// cannot hold, becomes: "dead_letter" (the default), "clamp" or "null"
	// (see InfinityClamp).
	Infinity string `yaml:"infinity" json:"infinity,omitempty"`
}

// WithDefaults returns the configuration with unset fields defaulted.
func (c Config) WithDefaults() Config {
	if c.Index == "" {
		c.Index = DefaultIndex
	}
	if c.Mode == "" {
		c.Mode = ModeUpsert
	}
	if c.BatchRows <= 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Deletes == "" {
		c.Deletes = DeletesTombstone
	}
	c.Retry = c.Retry.WithDefaults()
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	switch c.Infinity {
	case "", InfinityDeadLetter, InfinityClamp, InfinityNull:
	default:
		bad("infinity", "%q is not one of %s, %s, %s", c.Infinity, InfinityDeadLetter, InfinityClamp, InfinityNull)
	}
	if len(c.Addresses) == 0 {
		bad("addresses", "at least one node address is required, e.g. https://localhost:9200")
	}
	for _, a := range c.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("addresses", "%q is not an http(s) URL with a host", a)
		} else if u.User != nil {
			bad("addresses", "%q carries credentials; name environment variables in username_env and password_env instead", u.Redacted())
		}
	}
	if (c.UsernameEnv == "") != (c.PasswordEnv == "") {
		bad("username_env/password_env", "set both or neither")
	}
	for field, env := range map[string]string{"username_env": c.UsernameEnv, "password_env": c.PasswordEnv} {
		if env != "" && !validEnvName(env) {
			bad(field, "%q is not an environment variable name", env)
		}
	}
	if c.Index != "" {
		if err := validIndexTemplate(c.Index); err != nil {
			bad("index", "%v", err)
		}
	}
	switch c.Mode {
	case "", ModeUpsert, ModeReplace:
	default:
		bad("mode", "%q is not %q or %q", c.Mode, ModeUpsert, ModeReplace)
	}
	switch c.Deletes {
	case "", DeletesTombstone, DeletesHard:
	default:
		bad("deletes", "%q is not %q or %q", c.Deletes, DeletesTombstone, DeletesHard)
	}
	for field, n := range map[string]int{"batch_rows": c.BatchRows, "batch_bytes": c.BatchBytes, "concurrency": c.Concurrency} {
		if n < 0 {
			bad(field, "must not be negative (0 means the default)")
		}
	}
	if c.FlushInterval < 0 {
		bad("flush_interval", "must not be negative (0 means the default)")
	}
	if c.Retry.Initial < 0 || c.Retry.Max < 0 || c.Retry.Attempts < 0 || c.Retry.Elapsed < 0 {
		bad("retry", "bounds must not be negative (0 means the default)")
	}
	if err := checkReservedMappings(c.Mappings); err != nil {
		bad("mappings", "%v", err)
	}
	return errors.Join(errs...)
}

func validEnvName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// validIndexTemplate checks a template with a sample view name.
func validIndexTemplate(tmpl string) error {
	rest := strings.ReplaceAll(tmpl, "{view}", "")
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q: the only placeholder is {view}", tmpl)
	}
	return checkIndexName(strings.ReplaceAll(tmpl, "{view}", "view"))
}

// AliasName is the name of a view's alias: the Index template applied.
func (c Config) AliasName(view string) (string, error) {
	c = c.WithDefaults()
	name := strings.ReplaceAll(c.Index, "{view}", view)
	if err := checkIndexName(name); err != nil {
		return "", fmt.Errorf("index name for view %s: %w", view, err)
	}
	return name, nil
}

// checkIndexName applies OpenSearch's rules for index and alias names, so
// that a name OpenSearch would refuse is refused at construction. The
// timestamp suffix of refresh indices needs 26 bytes of the 255.
func checkIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case strings.ToLower(name) != name:
		return fmt.Errorf("%q must be lower case (OpenSearch index names are)", name)
	case strings.ContainsAny(name, "\\/*?\"<>| ,#:"):
		return fmt.Errorf("%q contains a character OpenSearch forbids in index names (\\ / * ? \" < > | space , # :)", name)
	case strings.IndexAny(name[:1], "_-+.") == 0:
		return fmt.Errorf("%q must not start with _, -, + or .", name)
	case len(name) > 255-26:
		return fmt.Errorf("%q is too long (at most %d bytes, leaving room for the index suffix)", name, 255-26)
	}
	return nil
}
