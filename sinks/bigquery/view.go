package bigquery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	bqv2 "google.golang.org/api/bigquery/v2"

	"github.com/beamsync/beamsync/change"
)

// scratchExpiry is the expiration of the tables a run makes for itself
// (staging and merge tables): a run that dies leaves nothing for long.
const scratchExpiry = 7 * 24 * time.Hour

// The suffixes of a view's other tables.
const (
	stagingSuffix    = "__staging_"
	mergeSuffix      = "__merge_"
	changesSuffix    = "__changes"
	tombstonesSuffix = "__tombstones"
)

var runIDChars = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// NewRunID returns a fresh run id: the suffix of a run's staging and merge
// tables.
func NewRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// View is one view of the sink and the tables that hold it:
//
//	<table>                     the view
//	<table>__staging_<run>      replace mode: the run's records, until the commit
//	<table>__changes            upsert mode: records not merged yet
//	<table>__tombstones         upsert mode: the keys deleted, with the delete's version
//	<table>__merge_<run>        upsert mode: the newest change per key, during a merge
//
// A View does no I/O until Prepare, NewWriter's flushes or Commit.
type View struct {
	c      *Client
	cfg    Config
	l      *layout
	enc    *rowEncoder
	runID  string
	tables struct {
		view, staging, changes, tombstones, merge tableRef
	}
	retried atomic.Int64
	inf     infinity
}

// NewView returns the view of a schema for one run (runID names the run's
// staging and merge tables; every writer and the commit of a run must use
// the same). It checks the configuration and the schema.
func NewView(c *Client, cfg Config, schema change.ViewSchema, runID string) (*View, error) {
	project := cfg.Project
	if project == "" {
		project = c.Project()
	}
	return newView(c, cfg, schema, runID, project)
}

func newView(c *Client, cfg Config, schema change.ViewSchema, runID, project string) (*View, error) {
	errs := []error{cfg.Validate()}
	if !runIDChars.MatchString(runID) {
		errs = append(errs, fmt.Errorf("bigquery sink: run id %q is not 1 to 40 lower-case letters, digits or '_'", runID))
	}
	l, err := layoutOf(schema)
	errs = append(errs, err)
	cfg = cfg.WithDefaults()
	name := cfg.TableName(schema.Name)
	if n := len(name) + len(stagingSuffix) + len(runID); !tableChars.MatchString(name) || n > maxTableName {
		errs = append(errs, fmt.Errorf("bigquery sink: view %s: table name %q is not valid (letters, digits, '_', '-'; at most %d bytes with the sink's suffixes)",
			schema.Name, name, maxTableName-len(stagingSuffix)-len(runID)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	v := &View{c: c, cfg: cfg, l: l, runID: runID}
	v.inf.policy = cfg.Infinity
	v.enc = newRowEncoder(l, forLoad, &v.inf)
	ref := func(t string) tableRef { return tableRef{Project: project, Dataset: cfg.Dataset, Table: t} }
	v.tables.view = ref(name)
	v.tables.staging = ref(name + stagingSuffix + runID)
	v.tables.changes = ref(name + changesSuffix)
	v.tables.tombstones = ref(name + tombstonesSuffix)
	v.tables.merge = ref(name + mergeSuffix + runID)
	return v, nil
}

// Name returns the view's name.
func (v *View) Name() string { return v.l.View }

// Table returns the view's table, project.dataset.table.
func (v *View) Table() string { return v.tables.view.String() }

// target is the table a Writer loads into.
func (v *View) target() tableRef {
	if v.cfg.Mode == ModeReplace {
		return v.tables.staging
	}
	return v.tables.changes
}

// Prepare makes what the run's writers need: the dataset, and the staging
// table (replace mode), or the view, change and tombstone tables (upsert
// mode), or the view with its primary key (Storage Write CDC). Existing
// tables must have the view's columns.
func (v *View) Prepare(ctx context.Context) error {
	if err := v.ensureDataset(ctx); err != nil {
		return err
	}
	switch {
	case v.cfg.Mode == ModeReplace:
		return v.ensureTable(ctx, v.tables.staging, v.l.changeColumns(), tableOptions{expireAfter: scratchExpiry})
	case v.cfg.StorageWriteCDC:
		return v.ensureTable(ctx, v.tables.view, v.l.viewColumns(), tableOptions{primaryKey: v.l.Key, maxStaleness: v.cfg.MaxStaleness})
	}
	for _, t := range []struct {
		ref  tableRef
		cols []column
	}{{v.tables.view, v.l.viewColumns()}, {v.tables.changes, v.l.changeColumns()}, {v.tables.tombstones, v.l.tombstoneColumns()}} {
		if err := v.ensureTable(ctx, t.ref, t.cols, tableOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func (v *View) ensureDataset(ctx context.Context) error {
	p, d := v.tables.view.Project, v.tables.view.Dataset
	err := v.do(ctx, func(ctx context.Context) error {
		_, err := v.c.svc.Datasets.Get(p, d).Context(ctx).Do()
		return err
	})
	if !isStatus(err, http.StatusNotFound) {
		return wrapf(err, "reading dataset %s.%s", p, d)
	}
	err = v.do(ctx, func(ctx context.Context) error {
		_, err := v.c.svc.Datasets.Insert(p, &bqv2.Dataset{
			DatasetReference: &bqv2.DatasetReference{ProjectId: p, DatasetId: d},
			Location:         v.cfg.Location,
		}).Context(ctx).Do()
		return err
	})
	if isStatus(err, http.StatusConflict) {
		err = nil // made meanwhile by another worker
	}
	return wrapf(err, "creating dataset %s.%s", p, d)
}

// ensureTable creates a table that does not exist, and checks the columns
// of one that does.
func (v *View) ensureTable(ctx context.Context, t tableRef, cols []column, o tableOptions) error {
	md, err := v.metadata(ctx, t)
	switch {
	case isStatus(err, http.StatusNotFound):
		err = v.exec(ctx, createTableSQL(t, cols, o, ""))
		if isStatus(err, http.StatusConflict) {
			err = nil
		}
		return wrapf(err, "creating table %s", t)
	case err != nil:
		return err
	}
	if d := schemaDiff(cols, md.Schema); d != "" {
		return fmt.Errorf("bigquery sink: view %s: table %s does not have the view's columns (%s): drop it, or let a full refresh (mode replace) rebuild the view", v.l.View, t, d)
	}
	return nil
}

// metadata reads a table's metadata; a missing table is an error of status
// 404.
func (v *View) metadata(ctx context.Context, t tableRef) (*bqv2.Table, error) {
	var md *bqv2.Table
	err := v.do(ctx, func(ctx context.Context) error {
		var err error
		md, err = v.c.svc.Tables.Get(t.Project, t.Dataset, t.Table).Context(ctx).Do()
		return err
	})
	if err != nil && !isStatus(err, http.StatusNotFound) {
		err = fmt.Errorf("reading table %s: %w", t, err)
	}
	return md, err
}
