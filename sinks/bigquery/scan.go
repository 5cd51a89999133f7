package bigquery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// StoredRow is one row of a view table as the sink stored it, its values
// turned into JSON values (see ScanView).
type StoredRow struct {
	// Fields holds the view's fields (the version column left out).
	Fields map[string]any
	// Version is the _beamsync_version column, when not null.
	Version    uint64
	HasVersion bool
}

// ScanView reads every row of a view's table (a query of the whole
// table, in no particular order), with the client a reader of the view
// would use. Values become JSON values, the way change.AppendJSON writes
// the view's own values: INT64, NUMERIC and BIGNUMERIC exact
// (json.Number), FLOAT64 as float64 (NaN and ±Inf as the strings "NaN",
// "Infinity", "-Infinity"), BYTES in standard base64, TIMESTAMP in RFC 3339
// (UTC, nanoseconds), DATE and TIME as their text, JSON parsed, arrays and
// STRUCTs as arrays and objects.
func ScanView(ctx context.Context, cfg Config, view string) ([]StoredRow, error) {
	cfg = cfg.WithDefaults()
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
		if localEndpoint(cfg.Endpoint) {
			opts = append(opts, option.WithoutAuthentication())
		}
	}
	project := cfg.Project
	if project == "" {
		project = bq.DetectProjectID
	}
	c, err := bq.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: creating the client: %w", err)
	}
	defer c.Close()
	table := fmt.Sprintf("`%s.%s.%s`", c.Project(), cfg.Dataset, cfg.TableName(view))
	q := c.Query("SELECT * FROM " + table)
	if cfg.Location != "" {
		q.Location = cfg.Location
	}
	it, err := q.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("bigquery: reading %s: %w", table, err)
	}
	var out []StoredRow
	for {
		var vals []bq.Value
		err := it.Next(&vals)
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bigquery: reading %s: %w", table, err)
		}
		row := StoredRow{Fields: make(map[string]any, len(vals))}
		for i, f := range it.Schema {
			if f.Name == VersionColumn {
				if r, ok := vals[i].(*big.Rat); ok && r.IsInt() && r.Num().IsUint64() {
					row.Version, row.HasVersion = r.Num().Uint64(), true
				} else if n, ok := vals[i].(int64); ok && n >= 0 {
					row.Version, row.HasVersion = uint64(n), true
				}
				continue
			}
			v, err := jsonValueOf(vals[i], f, f.Repeated)
			if err != nil {
				return nil, fmt.Errorf("bigquery: reading %s: column %s: %w", table, f.Name, err)
			}
			row.Fields[f.Name] = v
		}
		out = append(out, row)
	}
}

// jsonValueOf converts a value the client read to a JSON value.
func jsonValueOf(v bq.Value, f *bq.FieldSchema, repeated bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if repeated {
		vs, ok := v.([]bq.Value)
		if !ok {
			return nil, fmt.Errorf("repeated value %T", v)
		}
		out := make([]any, len(vs))
		for i, e := range vs {
			x, err := jsonValueOf(e, f, false)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	switch x := v.(type) {
	case []bq.Value: // a STRUCT
		m := make(map[string]any, len(x))
		for i, sf := range f.Schema {
			if i >= len(x) {
				break
			}
			e, err := jsonValueOf(x[i], sf, sf.Repeated)
			if err != nil {
				return nil, err
			}
			m[sf.Name] = e
		}
		return m, nil
	case int64:
		return json.Number(fmt.Sprint(x)), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN", nil
		case math.IsInf(x, 1):
			return "Infinity", nil
		case math.IsInf(x, -1):
			return "-Infinity", nil
		}
		return x, nil
	case *big.Rat:
		if x.IsInt() {
			return json.Number(x.Num().String()), nil
		}
		// NUMERIC has 9 fraction digits, BIGNUMERIC 38: 38 are exact.
		t := strings.TrimSuffix(strings.TrimRight(x.FloatString(38), "0"), ".")
		return json.Number(t), nil
	case bool:
		return x, nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case civil.Date:
		return x.String(), nil
	case civil.Time:
		t := x.String() // HH:MM:SS[.fffffffff]: cut the fraction's trailing zeros
		if strings.Contains(t, ".") {
			t = strings.TrimSuffix(strings.TrimRight(t, "0"), ".")
		}
		return t, nil
	case civil.DateTime:
		return x.String(), nil
	case string:
		if f.Type == bq.JSONFieldType {
			d := json.NewDecoder(strings.NewReader(x))
			d.UseNumber()
			var j any
			if err := d.Decode(&j); err != nil {
				return nil, fmt.Errorf("JSON value %.80q: %w", x, err)
			}
			return j, nil
		}
		return x, nil
	}
	return fmt.Sprint(v), nil
}
