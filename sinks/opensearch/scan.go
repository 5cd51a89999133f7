package opensearch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// MaxScanDocs is the most documents ScanView reads: one search request, up
// to OpenSearch's default index.max_result_window.
const MaxScanDocs = 10000

// StoredDoc is one document of a view as the sink stored it.
type StoredDoc struct {
	// ID is the document id: change.KeyString of the view key.
	ID string
	// Source is the stored _source, _beamsync_version included.
	Source json.RawMessage
	// Version is _beamsync_version (the record's position), when present.
	Version    uint64
	HasVersion bool
}

// ScanView refreshes a view's alias and returns every live document behind
// it (the alias filters tombstones out), in no particular order. Views of
// more than MaxScanDocs documents are refused: reading them needs a scroll
// or point-in-time search, which ScanView does not implement.
func ScanView(ctx context.Context, cfg Config, view string) ([]StoredDoc, error) {
	cfg = cfg.WithDefaults()
	alias, err := cfg.AliasName(view)
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	a := admin{c: c, policy: cfg.Retry}
	if err := a.refresh(ctx, alias); err != nil {
		return nil, err
	}
	var resp *opensearchapi.SearchResp
	body := fmt.Sprintf(`{"size":%d,"track_total_hits":true,"query":{"match_all":{}}}`, MaxScanDocs)
	err = a.do(ctx, "searching "+alias, func(ctx context.Context) (*opensearch.Response, error) {
		r, err := c.Search(ctx, &opensearchapi.SearchReq{Indices: []string{alias}, Body: strings.NewReader(body)})
		resp = r
		if r == nil {
			return nil, err
		}
		return r.Inspect().Response, err
	})
	if err != nil {
		return nil, err
	}
	if total := resp.Hits.Total.Value; total > len(resp.Hits.Hits) || total > MaxScanDocs {
		return nil, fmt.Errorf("opensearch alias %s holds %d documents: reading more than %d is not implemented", alias, total, MaxScanDocs)
	}
	out := make([]StoredDoc, 0, len(resp.Hits.Hits))
	for _, h := range resp.Hits.Hits {
		d := StoredDoc{ID: h.ID, Source: h.Source}
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(h.Source, &meta); err != nil {
			return nil, fmt.Errorf("document %s of %s: %w", h.ID, alias, err)
		}
		if string(meta[DeletedField]) == "true" {
			continue // a tombstone (the alias filter hides them from searches already)
		}
		if raw, ok := meta[VersionField]; ok {
			v, err := strconv.ParseUint(string(raw), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("document %s of %s: %s %s: %w", h.ID, alias, VersionField, raw, err)
			}
			d.Version, d.HasVersion = v, true
		}
		out = append(out, d)
	}
	return out, nil
}
