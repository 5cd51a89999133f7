package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/joins"
	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/sinks/bigquery"
	"github.com/beamsync/beamsync/sinks/dynamodb"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/sinks/opensearch"
	"github.com/beamsync/beamsync/sources/files"
	"github.com/beamsync/beamsync/sources/mysql"
	"github.com/beamsync/beamsync/sources/postgres"
	"github.com/beamsync/beamsync/verify"
)

const verifySynopsis = `verify --job FILE [--view V] [--show N]

Reconciles every view of a job (or one, with --view) with its source, in
every sink that holds it: reads the source afresh (a consistent snapshot),
maps its rows with the view's mapping, reads the rows the sink stores, and
compares them — row counts, then checksums over key ranges, bisecting the
ranges that differ down to the keys. Prints a table per view and sink and
the first differing keys with the source's and the sink's values.

A key is missing (in the source, not in the sink), extra (in the sink, not
in the source: a deleted row still present), changed (different values) or
stale (same values, but the stored version is ahead of the source's
snapshot position, or absent). Checksums are computed by verify over the
rows it fetched: every sink is read whole (OpenSearch: at most 10000
documents), no sink hashes on the server.

Values are compared by meaning, not by text: numbers exactly (DynamoDB's
49 equals 49.00), timestamps by instant. BigQuery keeps timestamps to the
microsecond and reads a null array as an empty one: such values show as
changed. A BigQuery view in upsert mode is read as merged: changes not
merged yet show as differences. The source is read as of verify's snapshot: rows a running stream
is writing show as differences; run verify while the job is idle.

Exit status: 0 when every view equals its source, 1 on any difference or
error, 2 on usage errors.`

func verifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", verifySynopsis, stderr)
	job := fs.String("job", "", "the job file (YAML) `FILE`")
	only := fs.String("view", "", "verify only the view `V`")
	show := fs.Int("show", 10, "print up to `N` differing keys per view and sink")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *job == "" {
		fmt.Fprintln(stderr, "runner verify: --job is required (the job file whose views to verify)")
		return exitUsage
	}
	if *show < 0 {
		fmt.Fprintln(stderr, "runner verify: --show must not be negative")
		return exitUsage
	}
	j, err := pipelines.Load(*job)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitFail
	}
	if j.Source.Kind == pipelines.SourceKafka {
		fmt.Fprintln(stderr, "runner verify: a kafka source cannot be read afresh: verify reads postgres, mysql and files sources")
		return exitFail
	}
	plan, err := pipelines.Prepare(ctx, j)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitFail
	}
	views := plan.Views
	if *only != "" {
		i := slices.IndexFunc(views, func(v pipelines.PlannedView) bool { return v.Name == *only })
		if i < 0 {
			names := make([]string, len(views))
			for k, v := range views {
				names[k] = v.Name
			}
			fmt.Fprintf(stderr, "runner verify: the job has no view %q (its views: %s)\n", *only, strings.Join(names, ", "))
			return exitUsage
		}
		views = views[i : i+1]
	}

	expected, err := readExpected(ctx, plan, views)
	if err != nil {
		fmt.Fprintf(stderr, "runner verify: reading the source: %v\n", err)
		return exitFail
	}
	var results []verify.ViewResult
	for _, v := range views {
		exp := expected[v.Name]
		if exp.MapErrors > 0 {
			fmt.Fprintf(stderr, "view %s: %d source row(s) the mapping refuses are not expected in the view (first: %v)\n",
				v.Name, exp.MapErrors, exp.FirstMapError)
		}
		for _, s := range v.Sinks {
			r := verify.ViewResult{View: v.Name, Sink: s.Name + " (" + s.Kind + ")"}
			actual, err := readSink(ctx, j, s, v)
			if err != nil {
				r.Err = fmt.Errorf("reading sink %s: %w", s.Name, err)
			} else {
				verify.SortRows(actual)
				r.Result = verify.Compare(exp.Rows, actual, verify.Options{SourcePosition: exp.Position, SinkKeepsVersions: true})
			}
			results = append(results, r)
		}
	}
	if err := verify.PrintTable(stdout, results); err != nil {
		fmt.Fprintf(stderr, "runner verify: %v\n", err)
		return exitFail
	}
	code := exitOK
	for _, r := range results {
		verify.PrintDiffs(stdout, r, *show)
		if r.Err != nil || !r.Result.Equal() {
			code = exitFail
		}
	}
	return code
}

// readExpected reads the sources once (one snapshot of each source's
// tables the views read) and maps the rows of each view; views with joins
// are composed from a scratch store of the rows of every table they read.
func readExpected(ctx context.Context, plan *pipelines.Plan, views []pipelines.PlannedView) (map[string]verify.Expected, error) {
	j := plan.Job
	key := (*change.Table).ID
	builders := map[string][]*verify.ExpectedBuilder{} // by table, for views of one table
	need := map[string]*change.Table{}                 // the tables to read
	byView := map[string]*verify.ExpectedBuilder{}
	var joined []pipelines.PlannedView
	for _, v := range views {
		if len(v.Mapping.Joins()) > 0 {
			joined = append(joined, v)
			for _, t := range v.View.Joined {
				need[key(t)] = t
			}
			continue
		}
		b := verify.NewExpectedBuilder(v.Mapping)
		byView[v.Name] = b
		builders[key(v.View.Table)] = append(builders[key(v.View.Table)], b)
		need[key(v.View.Table)] = v.View.Table
	}
	var w *joins.Writer
	var jviews []*joins.View
	jtables := map[string]bool{}
	if len(joined) > 0 {
		dir, err := os.MkdirTemp("", "beamsync-verify-joins-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		store, err := joins.Open(dir, joins.Options{NoSync: true})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		for _, v := range joined {
			jv := joins.NewView(store, v.Mapping)
			jviews = append(jviews, jv)
			for _, t := range jv.Tables() {
				jtables[key(t)] = true
			}
		}
		w = store.NewWriter(true)
		defer w.Close()
	}
	emit := func(bt change.Batch) error {
		for _, b := range builders[key(bt.Table)] {
			if err := b.Add(bt); err != nil {
				return err
			}
		}
		if w != nil && jtables[key(bt.Table)] {
			return w.Apply(bt)
		}
		return nil
	}
	positions := map[string]uint64{} // each source's snapshot position, by source name
	for _, s := range j.SourceSpecs() {
		var tables []*change.Table
		for _, t := range plan.Tables {
			if t.Source == s.Name && need[key(t)] != nil {
				tables = append(tables, t)
			}
		}
		if len(tables) == 0 {
			continue
		}
		switch s.Kind {
		case pipelines.SourcePostgres, pipelines.SourceMySQL:
			dsn, pgCfg, myCfg, err := j.SnapshotConfig(s)
			if err != nil {
				return nil, err
			}
			if s.Kind == pipelines.SourcePostgres {
				info, err := postgres.Snapshot(ctx, dsn, pgCfg, tables, emit)
				if err != nil {
					return nil, fmt.Errorf("postgres snapshot ($%s): %w", s.DSNEnv, err)
				}
				positions[s.Name] = uint64(info.Position)
			} else {
				info, err := mysql.Snapshot(ctx, dsn, myCfg, tables, emit)
				if err != nil {
					return nil, fmt.Errorf("mysql snapshot ($%s): %w", s.DSNEnv, err)
				}
				positions[s.Name] = uint64(info.Position)
			}
		case pipelines.SourceFiles:
			for _, cfg := range j.FilesConfigsOf(s) {
				err := files.Read(ctx, cfg, tables, emit, func(change.DeadLetter) error { return nil })
				if err != nil {
					return nil, fmt.Errorf("reading %s: %w", cfg.Path, err)
				}
			}
		default:
			return nil, fmt.Errorf("source kind %q cannot be read afresh", s.Kind)
		}
	}
	out := make(map[string]verify.Expected, len(byView)+len(jviews))
	for _, v := range views {
		if b := byView[v.Name]; b != nil {
			e := b.Finish()
			if p := positions[v.View.Table.Source]; p != 0 {
				e.Position = p
			}
			out[v.Name] = e
		}
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return nil, err
		}
	}
	for _, jv := range jviews {
		e, err := composeExpected(ctx, jv)
		if err != nil {
			return nil, err
		}
		out[jv.Mapping().View()] = e
	}
	return out, nil
}

// composeExpected maps every row of a joined view's source, with the rows
// its joins attach. A joined view's rows carry the time of the run that
// wrote them as their version: none can be ahead of now.
func composeExpected(ctx context.Context, jv *joins.View) (verify.Expected, error) {
	m := jv.Mapping()
	now := change.Position(time.Now().UnixMicro())
	e := verify.Expected{Position: uint64(now)}
	ev := m.NewEvaluator()
	var recs []change.Record
	t := m.Table()
	err := jv.ScanSource(func(row []any, _ change.Position) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		aliases, ok, err := jv.Compose(row)
		if err != nil || !ok {
			return err
		}
		key := make([]any, len(t.Key))
		for i, k := range t.Key {
			key[i] = row[k]
		}
		recs, err = ev.ApplyJoined(&change.Change{Op: change.OpRead, Key: key, After: row, Position: now}, aliases, recs[:0])
		if err != nil {
			e.MapErrors++
			if e.FirstMapError == nil {
				e.FirstMapError = err
			}
			return nil
		}
		for _, r := range recs {
			if r.Delete {
				continue
			}
			vr, err := verify.RecordRow(r)
			if err != nil {
				return err
			}
			e.Rows = append(e.Rows, vr)
		}
		return nil
	})
	verify.SortRows(e.Rows)
	return e, err
}

// readSink reads the rows a sink stores for a view, in canonical form.
func readSink(ctx context.Context, j *pipelines.Job, s pipelines.SinkSpec, v pipelines.PlannedView) ([]verify.Row, error) {
	keys := v.Mapping.KeyFields()
	switch s.Kind {
	case pipelines.SinkFile:
		return readFileSink(file.Config{Dir: j.Path(s.Dir)}, v.Name, keys)
	case pipelines.SinkOpenSearch:
		docs, err := opensearch.ScanView(ctx, *s.OpenSearch, v.Name)
		if err != nil {
			return nil, err
		}
		rows := make([]verify.Row, 0, len(docs))
		drop := []string{opensearch.VersionField, opensearch.DeletedField}
		for _, d := range docs {
			r, err := verify.SinkRow(d.Source, keys, drop, d.Version, d.HasVersion)
			if err != nil {
				return nil, fmt.Errorf("document %s: %w", d.ID, err)
			}
			rows = append(rows, r)
		}
		return rows, nil
	case pipelines.SinkDynamoDB:
		return readDynamoDB(ctx, *s.DynamoDB, v, keys)
	case pipelines.SinkBigQuery:
		stored, err := bigquery.ScanView(ctx, *s.BigQuery, v.Name)
		if err != nil {
			return nil, err
		}
		rows := make([]verify.Row, 0, len(stored))
		for _, st := range stored {
			r, err := verify.SinkRowValue(st.Fields, keys, st.Version, st.HasVersion)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("sink kind %q is not supported by verify", s.Kind)
}

// readFileSink reads a file view (its stream change log compacted in): its lines, each versioned by the
// versions sidecar (read on its own, so that a hand-edited view file
// shows its edits rather than failing a consistency check).
func readFileSink(cfg file.Config, view string, keys []string) ([]verify.Row, error) {
	// A stream's view file trails its change log: fold the log in first.
	if _, err := file.CompactLog(cfg, view); err != nil {
		return nil, err
	}
	versions := map[string]uint64{}
	err := file.ScanVersions(cfg, view, func(v file.Version) error {
		if v.Deleted {
			return nil
		}
		k, err := verify.Canonical(change.AppendJSON(nil, v.Key))
		if err != nil {
			return err
		}
		versions[string(k)] = uint64(v.Position)
		return nil
	})
	if err != nil && !errors.Is(err, file.ErrNoView) {
		return nil, err
	}
	f, err := os.Open(file.ViewPath(cfg, view))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<30)
	var rows []verify.Row
	for n := 1; sc.Scan(); n++ {
		r, err := verify.SinkRow(sc.Bytes(), keys, nil, 0, false)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", f.Name(), n, err)
		}
		r.Version, r.HasVersion = versions[r.Key]
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return rows, nil
}

// readDynamoDB scans a view's table; tombstones are skipped, the sink's
// attributes left out.
func readDynamoDB(ctx context.Context, cfg dynamodb.Config, v pipelines.PlannedView, keys []string) ([]verify.Row, error) {
	cfg = cfg.WithDefaults()
	c, err := dynamodb.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	table := cfg.TableName(v.Name)
	fields := map[string]bool{}
	for _, f := range v.Mapping.Fields() {
		fields[f.Name] = true
	}
	drop := []string{cfg.VersionAttribute, dynamodb.DeletedAttribute, dynamodb.ExpiresAttribute, dynamodb.CompositeKeyAttribute}
	var rows []verify.Row
	pages := awsdynamodb.NewScanPaginator(c, &awsdynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scanning dynamodb table %s: %w", table, err)
		}
		for _, item := range page.Items {
			if b, ok := item[dynamodb.DeletedAttribute].(*types.AttributeValueMemberBOOL); ok && b.Value {
				continue // a tombstone
			}
			var version uint64
			has := false
			if n, ok := item[cfg.VersionAttribute].(*types.AttributeValueMemberN); ok {
				if version, err = strconv.ParseUint(n.Value, 10, 64); err != nil {
					return nil, fmt.Errorf("dynamodb table %s: %s %q: %w", table, cfg.VersionAttribute, n.Value, err)
				}
				has = true
			}
			doc := make(map[string]any, len(item))
			for name, a := range item {
				if slices.Contains(drop, name) && !fields[name] {
					continue
				}
				doc[name] = attrJSON(a)
			}
			r, err := verify.SinkRowValue(doc, keys, version, has)
			if err != nil {
				return nil, fmt.Errorf("dynamodb table %s: %w", table, err)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// attrJSON turns a DynamoDB attribute into the JSON value the view row
// holds: numbers exact, binaries in standard base64 (as change.AppendJSON
// writes []byte).
func attrJSON(a types.AttributeValue) any {
	switch x := a.(type) {
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberN:
		return json.Number(x.Value)
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(x.Value)
	case *types.AttributeValueMemberL:
		out := make([]any, len(x.Value))
		for i, e := range x.Value {
			out[i] = attrJSON(e)
		}
		return out
	case *types.AttributeValueMemberM:
		out := make(map[string]any, len(x.Value))
		for k, e := range x.Value {
			out[k] = attrJSON(e)
		}
		return out
	case *types.AttributeValueMemberSS:
		out := make([]any, len(x.Value))
		for i, e := range x.Value {
			out[i] = e
		}
		return out
	case *types.AttributeValueMemberNS:
		out := make([]any, len(x.Value))
		for i, e := range x.Value {
			out[i] = json.Number(e)
		}
		return out
	case *types.AttributeValueMemberBS:
		out := make([]any, len(x.Value))
		for i, e := range x.Value {
			out[i] = base64.StdEncoding.EncodeToString(e)
		}
		return out
	}
	return fmt.Sprintf("%T", a)
}
