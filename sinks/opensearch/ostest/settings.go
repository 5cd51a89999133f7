package ostest

import (
	"strconv"
	"strings"
	"time"
)

// settings are the index settings this server honours.
type settings struct {
	shards          int
	replicas        int
	gcDeletes       time.Duration // how long a deleted document's version is remembered
	refreshInterval time.Duration // < 0: no periodic refresh
	maxResultWindow int
	given           map[string]string // every setting given, flattened ("index.gc_deletes" → "1s")
}

func defaultSettings() settings {
	return settings{shards: 1, replicas: 1, gcDeletes: 60 * time.Second, refreshInterval: time.Second,
		maxResultWindow: 10000, given: map[string]string{}}
}

// settingSpec describes one honoured setting.
type settingSpec struct {
	dynamic bool
	def     string // the default, restored by a null value
	apply   func(s *settings, key, val string) *osError
}

var knownSettings = map[string]settingSpec{
	"index.number_of_shards": {false, "1", func(s *settings, k, v string) (e *osError) {
		s.shards, e = parseIntSetting(k, v, 1, 1024)
		return e
	}},
	"index.number_of_replicas": {true, "1", func(s *settings, k, v string) (e *osError) {
		s.replicas, e = parseIntSetting(k, v, 0, 1<<31-1)
		return e
	}},
	"index.gc_deletes": {true, "60s", func(s *settings, k, v string) (e *osError) {
		s.gcDeletes, e = parseTimeSetting(k, v)
		return e
	}},
	"index.refresh_interval": {true, "1s", func(s *settings, k, v string) (e *osError) {
		s.refreshInterval, e = parseTimeSetting(k, v)
		return e
	}},
	"index.max_result_window": {true, "10000", func(s *settings, k, v string) (e *osError) {
		s.maxResultWindow, e = parseIntSetting(k, v, 1, 1<<31-1)
		return e
	}},
}

// Real OpenSearch settings that this server does not implement: refused as
// not implemented rather than accepted and ignored.
var unimplementedSettingPrefixes = []string{
	"index.analysis.", "index.mapping.", "index.translog.", "index.merge.", "index.routing.",
	"index.blocks.", "index.sort.", "index.codec", "index.auto_expand_replicas", "index.hidden",
	"index.max_", "index.query.", "index.search.", "index.similarity.", "index.knn", "index.replication.",
	"index.store.", "index.priority", "index.default_pipeline", "index.final_pipeline",
}

// flattenSettings turns a settings object ({"index": {"gc_deletes": "1s"}},
// {"index.gc_deletes": "1s"} or {"gc_deletes": "1s"}) into "index."-prefixed
// keys with string values, as OpenSearch normalises them.
func flattenSettings(v *value) (map[string]string, *osError) {
	out := map[string]string{}
	if v == nil || v.kind == jNull {
		return out, nil
	}
	if v.kind != jObj {
		return nil, newError(400, "settings_exception", "Failed to load settings from [%s]", v.preview())
	}
	var walk func(prefix string, v *value) *osError
	walk = func(prefix string, v *value) *osError {
		for _, m := range v.obj {
			key := prefix + m.name
			switch m.val.kind {
			case jObj:
				if err := walk(key+".", m.val); err != nil {
					return err
				}
			case jArr:
				return notImplemented("list-valued setting [%s]", key)
			case jNull:
				out[key] = ""
			default:
				out[key] = m.val.text()
			}
		}
		return nil
	}
	if err := walk("", v); err != nil {
		return nil, err
	}
	norm := make(map[string]string, len(out))
	for k, val := range out {
		if !strings.HasPrefix(k, "index.") {
			k = "index." + k
		}
		norm[k] = val
	}
	return norm, nil
}

// apply validates and applies flattened settings; updating refuses static
// settings as OpenSearch does for open indices.
func (s *settings) apply(flat map[string]string, updating bool, indexName, uuid string) *osError {
	var static []string
	for k, v := range flat {
		spec, ok := knownSettings[k]
		if !ok {
			for _, p := range unimplementedSettingPrefixes {
				if strings.HasPrefix(k, p) {
					return notImplemented("the index setting [%s]", k)
				}
			}
			return illegalArgument("unknown setting [%s] please check that any required plugins are installed, or check the breaking changes documentation for removed settings", k)
		}
		if updating && !spec.dynamic {
			static = append(static, k)
			continue
		}
		if v == "" { // null restores the default
			if err := spec.apply(s, k, spec.def); err != nil {
				return err
			}
			delete(s.given, k)
			continue
		}
		if err := spec.apply(s, k, v); err != nil {
			return err
		}
		s.given[k] = v
	}
	if len(static) > 0 {
		return illegalArgument("Can't update non dynamic settings [%v] for open indices [[%s/%s]]", static, indexName, uuid)
	}
	return nil
}

func parseIntSetting(key, v string, lo, hi int) (int, *osError) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, illegalArgument("Failed to parse value [%s] for setting [%s]", v, key)
	}
	if n < lo {
		return 0, illegalArgument("Failed to parse value [%s] for setting [%s] must be >= %d", v, key, lo)
	}
	if n > hi {
		return 0, illegalArgument("Failed to parse value [%s] for setting [%s] must be <= %d", v, key, hi)
	}
	return n, nil
}

// parseTimeSetting parses OpenSearch's time values ("60s", "500ms", "-1").
func parseTimeSetting(key, v string) (time.Duration, *osError) {
	d, ok := parseTimeValue(v)
	if !ok {
		return 0, illegalArgument("failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", key, v)
	}
	if d < -time.Millisecond {
		return 0, illegalArgument("failed to parse value [%s] for setting [%s], must be >= [-1]", v, key)
	}
	return d, nil
}

func parseTimeValue(v string) (time.Duration, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	switch s {
	case "-1":
		return -time.Millisecond, true
	case "0":
		return 0, true
	}
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond},
		{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(n) * u.unit, true
		}
	}
	return 0, false
}

// nested renders flattened settings as OpenSearch's GET shows them:
// {"index": {"gc_deletes": "1s", ...}} with string values.
func (s *settings) nested(name, uuid string, created time.Time) map[string]any {
	flat := map[string]string{
		"index.number_of_shards":   strconv.Itoa(s.shards),
		"index.number_of_replicas": strconv.Itoa(s.replicas),
		"index.uuid":               uuid,
		"index.provided_name":      name,
		"index.creation_date":      strconv.FormatInt(created.UnixMilli(), 10),
		"index.version.created":    "136408127",
	}
	for k, v := range s.given {
		flat[k] = v
	}
	root := map[string]any{}
	for k, v := range flat {
		parts := strings.Split(k, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	return root
}
