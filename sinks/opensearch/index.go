package opensearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
)

// upsertSuffix names the index EnsureIndex creates behind a new alias.
const upsertSuffix = "-000001"

// indexBody is the create-index request of a view's index.
func (c Config) indexBody(view change.ViewSchema) map[string]any {
	body := map[string]any{"mappings": c.mappingsFor(view)}
	if s := c.settingsFor(); len(s) > 0 {
		body["settings"] = s
	}
	return body
}

func prepare(cfg Config, view change.ViewSchema) (Config, string, admin, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, "", admin{}, err
	}
	cfg = cfg.WithDefaults()
	alias, err := cfg.AliasName(view.Name)
	if err != nil {
		return cfg, "", admin{}, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return cfg, "", admin{}, err
	}
	return cfg, alias, admin{c: c, policy: cfg.Retry}, nil
}

// EnsureIndex prepares a view for upsert writes: when its alias does not
// exist it creates the index <alias>-000001 with the derived mappings and
// the alias (with the filter that hides tombstones) in one request. An
// existing alias is kept; its filter is restored if it lacks it.
func EnsureIndex(ctx context.Context, cfg Config, view change.ViewSchema) error {
	cfg, alias, a, err := prepare(cfg, view)
	if err != nil {
		return err
	}
	defer a.c.Close()
	return ensureIndex(ctx, cfg, view, alias, a)
}

func ensureIndex(ctx context.Context, cfg Config, view change.ViewSchema, alias string, a admin) error {
	for attempt := 0; ; attempt++ {
		indices, err := a.aliasFilters(ctx, alias)
		if err != nil {
			return err
		}
		if len(indices) > 0 {
			return checkAlias(ctx, a, alias, indices)
		}
		if exists, err := a.indexExists(ctx, alias); err != nil {
			return err
		} else if exists {
			return fmt.Errorf("%s is a concrete index, not an alias: the sink writes through an alias whose filter hides tombstones; "+
				"run a full refresh (mode %q), which replaces the index by an alias, or choose another index name", alias, ModeReplace)
		}
		body := cfg.indexBody(view)
		body["aliases"] = map[string]any{alias: map[string]any{"filter": aliasFilter()}}
		err = a.createIndex(ctx, alias+upsertSuffix, body)
		var re *requestError
		if errors.As(err, &re) && re.Type == "resource_already_exists_exception" && attempt == 0 {
			continue // created concurrently: look at the alias again
		}
		if err != nil {
			return fmt.Errorf("ensuring the index of view %s: %w", view.Name, err)
		}
		return nil
	}
}

// checkAlias verifies that an existing alias can take writes and restores
// the tombstone filter where it is missing.
func checkAlias(ctx context.Context, a admin, alias string, indices map[string]json.RawMessage) error {
	if len(indices) > 1 {
		return fmt.Errorf("alias %s points to %d indices (%s): the sink writes through an alias with exactly one index",
			alias, len(indices), strings.Join(sortedNames(indices), ", "))
	}
	for index, filter := range indices {
		if sameJSON(filter, aliasFilter()) {
			return nil
		}
		return a.updateAliases(ctx, []map[string]any{{"add": map[string]any{"index": index, "alias": alias, "filter": aliasFilter()}}})
	}
	return nil
}

func sameJSON(raw json.RawMessage, want any) bool {
	if raw == nil {
		return false
	}
	var got, w any
	b, _ := json.Marshal(want)
	if json.Unmarshal(raw, &got) != nil || json.Unmarshal(b, &w) != nil {
		return false
	}
	return reflect.DeepEqual(got, w)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// refreshIndexName names a refresh's index: the alias and a UTC timestamp
// with nanoseconds, so that names sort by creation.
func refreshIndexName(alias string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s-%s%09d", alias, t.Format("20060102150405"), t.Nanosecond())
}

// BeginRefresh starts a full refresh of a view: it creates a new, empty
// index <alias>-<timestamp> with the derived mappings and returns its name.
// Write the whole view into it (WithTargetIndex), then CommitRefresh.
func BeginRefresh(ctx context.Context, cfg Config, view change.ViewSchema) (string, error) {
	cfg, alias, a, err := prepare(cfg, view)
	if err != nil {
		return "", err
	}
	defer a.c.Close()
	name := refreshIndexName(alias, time.Now())
	if err := a.createIndex(ctx, name, cfg.indexBody(view)); err != nil {
		return "", fmt.Errorf("beginning the refresh of view %s: %w", view.Name, err)
	}
	return name, nil
}

// CommitRefresh makes a refresh's index the view: it refreshes the index
// (so that every write is searchable), then moves the alias to it in one
// atomic _aliases request (add to the new index, remove from the old ones;
// a concrete index that bears the alias's name is removed in the same
// request), then deletes the old indices. Readers of the alias see the old
// view or the new one, never an empty or partial one. Committing again is
// harmless.
func CommitRefresh(ctx context.Context, cfg Config, view change.ViewSchema, index string) error {
	cfg, alias, a, err := prepare(cfg, view)
	if err != nil {
		return err
	}
	defer a.c.Close()
	if !strings.HasPrefix(index, alias+"-") {
		return fmt.Errorf("committing the refresh of view %s: %s is not an index of alias %s", view.Name, index, alias)
	}
	if err := a.refresh(ctx, index); err != nil {
		return fmt.Errorf("committing the refresh of view %s: %w", view.Name, err)
	}
	current, err := a.aliasFilters(ctx, alias)
	if err != nil {
		return err
	}
	actions := []map[string]any{{"add": map[string]any{"index": index, "alias": alias, "filter": aliasFilter()}}}
	var old []string
	for _, name := range sortedNames(current) {
		if name != index {
			old = append(old, name)
			actions = append(actions, map[string]any{"remove": map[string]any{"index": name, "alias": alias}})
		}
	}
	if len(current) == 0 {
		if exists, err := a.indexExists(ctx, alias); err != nil {
			return err
		} else if exists { // a concrete index where the alias goes: replaced atomically
			actions = append(actions, map[string]any{"remove_index": map[string]any{"index": alias}})
		}
	}
	// Invariant: one _aliases request moves the alias; readers see the old
	// index or the new, complete and refreshed one, never neither.
	if err := a.updateAliases(ctx, actions); err != nil {
		return fmt.Errorf("committing the refresh of view %s: %w", view.Name, err)
	}
	// Only indices the sink created (<alias>-...) are dropped; an index
	// someone else put under the alias only loses the alias.
	var drop []string
	for _, name := range old {
		if strings.HasPrefix(name, alias+"-") {
			drop = append(drop, name)
		}
	}
	if len(drop) > 0 {
		if err := a.deleteIndices(ctx, drop); err != nil && !isNotFound(err) {
			return fmt.Errorf("committing the refresh of view %s: the alias moved to %s, but dropping the old indices failed: %w", view.Name, index, err)
		}
	}
	return nil
}
