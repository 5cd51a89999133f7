package opensearch

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// The fields the sink adds to every document.
const (
	VersionField = "_beamsync_version" // the record's position (long)
	DeletedField = "_beamsync_deleted" // true on a tombstone (boolean)
)

// DeriveMappings returns the index mappings for a view (before the
// configuration's overrides): one property per field by kind, the sink's
// own fields, and "dynamic": "false" so that fields the view does not
// declare are kept in _source but never mapped by whichever document came
// first. See the package documentation for the kind → type table.
func DeriveMappings(view change.ViewSchema) map[string]any {
	props := map[string]any{
		VersionField: map[string]any{"type": "long"},
		DeletedField: map[string]any{"type": "boolean"},
	}
	for _, f := range view.Fields {
		if m := fieldMapping(f.Kind, f); m != nil {
			props[f.Name] = m
		}
	}
	return map[string]any{"dynamic": "false", "properties": props}
}

// fieldMapping maps a value kind; nil leaves the field unmapped (kept in
// _source, not searchable).
func fieldMapping(k change.Kind, f change.Field) map[string]any {
	switch k {
	case change.KindBool:
		return map[string]any{"type": "boolean"}
	case change.KindInt:
		return map[string]any{"type": "long"}
	case change.KindFloat:
		return map[string]any{"type": "double"}
	case change.KindDecimal:
		// Exact: the canonical text as a keyword (term queries, terms
		// aggregations); approximate: a double sub-field for ranges, sorts
		// and sums, skipped for values a double cannot hold.
		return map[string]any{"type": "keyword",
			"fields": map[string]any{"double": map[string]any{"type": "double", "ignore_malformed": true}}}
	case change.KindString:
		return map[string]any{"type": "text",
			"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
	case change.KindBytes:
		return map[string]any{"type": "binary"}
	case change.KindTimestamp:
		return map[string]any{"type": "date", "format": "strict_date_optional_time_nanos"}
	case change.KindDate:
		return map[string]any{"type": "date", "format": "strict_date_optional_time"}
	case change.KindTime, change.KindInterval:
		return map[string]any{"type": "keyword"}
	case change.KindJSON:
		// Any JSON (objects, arrays, scalars) kept as sent in _source; not
		// indexed, so that documents of different shapes never conflict.
		return map[string]any{"type": "object", "enabled": false}
	case change.KindObject:
		if len(f.Fields) == 0 {
			return map[string]any{"type": "object"}
		}
		props := map[string]any{}
		for _, sub := range f.Fields {
			if m := fieldMapping(sub.Kind, sub); m != nil {
				props[sub.Name] = m
			}
		}
		return map[string]any{"properties": props}
	case change.KindArray:
		// OpenSearch has no array type: any field holds a list of its type.
		if f.Elem == change.KindArray {
			return nil
		}
		return fieldMapping(f.Elem, f)
	}
	return nil // KindAny: unknown in advance
}

// mappingsFor returns the view's mappings with the configuration's overrides
// merged in: objects merge key by key, except that a field definition
// under "properties" that names a "type" replaces the derived one.
func (c Config) mappingsFor(view change.ViewSchema) map[string]any {
	return mergeMappings(DeriveMappings(view), c.Mappings)
}

func mergeMappings(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, sv := range src {
		sm, sok := sv.(map[string]any)
		dm, dok := out[k].(map[string]any)
		switch {
		case k == "properties" && sok && dok:
			props := maps.Clone(dm)
			for name, def := range sm {
				sd, sok := def.(map[string]any)
				dd, dok := props[name].(map[string]any)
				if _, typed := sd["type"]; sok && dok && !typed {
					props[name] = mergeMappings(dd, sd)
				} else {
					props[name] = def
				}
			}
			out[k] = props
		case sok && dok:
			out[k] = mergeMappings(dm, sm)
		default:
			out[k] = sv
		}
	}
	return out
}

// checkReservedMappings refuses overrides of the sink's own fields: the
// alias filter and the version guard depend on their types.
func checkReservedMappings(m map[string]any) error {
	props, _ := m["properties"].(map[string]any)
	for name := range props {
		if strings.HasPrefix(name, "_beamsync_") {
			return fmt.Errorf("properties.%s is the sink's own field and cannot be overridden", name)
		}
	}
	return nil
}

// settingsFor returns the index settings: the configuration's, flattened
// to "index."-prefixed keys (OpenSearch accepts either form).
func (c Config) settingsFor() map[string]any {
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			key := prefix + k
			if !strings.HasPrefix(key, "index.") {
				key = "index." + key
			}
			out[key] = v
		}
	}
	walk("", c.Settings)
	return out
}

// aliasFilter hides tombstones from readers of the alias.
func aliasFilter() map[string]any {
	return map[string]any{"bool": map[string]any{"must_not": map[string]any{"term": map[string]any{DeletedField: true}}}}
}

// CheckView refuses view schemas the sink cannot write: field names that
// are empty, hold a dot (OpenSearch reads dots as object paths), are
// OpenSearch metadata fields or the sink's own.
func CheckView(v change.ViewSchema) error {
	var errs []error
	if v.Name == "" {
		errs = append(errs, fmt.Errorf("a view without a name"))
	}
	var walk func(prefix string, fields []change.Field)
	walk = func(prefix string, fields []change.Field) {
		for _, f := range fields {
			switch {
			case f.Name == "":
				errs = append(errs, fmt.Errorf("view %s: a field of %q has no name", v.Name, prefix))
			case strings.Contains(f.Name, "."):
				errs = append(errs, fmt.Errorf("view %s: field %q: OpenSearch reads dots in field names as object paths; rename it", v.Name, prefix+f.Name))
			case prefix == "" && strings.HasPrefix(f.Name, "_beamsync_"):
				errs = append(errs, fmt.Errorf("view %s: field %q: names starting with _beamsync_ are the sink's own", v.Name, f.Name))
			case prefix == "" && metadataFields[f.Name]:
				errs = append(errs, fmt.Errorf("view %s: field %q is an OpenSearch metadata field; rename it", v.Name, f.Name))
			}
			walk(prefix+f.Name+".", f.Fields)
		}
	}
	walk("", v.Fields)
	return errors.Join(errs...)
}

// metadataFields are OpenSearch's metadata fields, which documents cannot
// hold.
var metadataFields = map[string]bool{"_id": true, "_index": true, "_source": true, "_routing": true,
	"_version": true, "_seq_no": true, "_primary_term": true, "_field_names": true, "_ignored": true,
	"_type": true, "_doc_count": true, "_data_stream_timestamp": true, "_nested_path": true}
