package mysql

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	_ "github.com/beamsync/beamsync/transforms" // coders of the change model
)

// Read is the Beam entry point: a consistent, parallel snapshot of the
// tables, as a PCollection of change.Batch, and the rows sent to the dead
// letters (zero_dates: dead_letter) as a PCollection of change.DeadLetter. The connection string is read on
// the worker from the environment variable dsnEnv, so it never becomes part
// of the pipeline.
func Read(s beam.Scope, dsnEnv string, cfg Config, tables []*change.Table) (batches, dead beam.PCollection) {
	s = s.Scope("mysql.Read")
	fn := &snapshotFn{DSNEnv: dsnEnv, Tables: tables, Config: readConfig{
		Tables: cfg.Tables, ChunkSize: cfg.ChunkSize, Parallelism: cfg.Parallelism,
		BatchSize: cfg.BatchSize, AllowNoPrimaryKey: cfg.AllowNoPrimaryKey, Cursor: cfg.Cursor, ZeroDates: cfg.ZeroDates,
	}}
	return beam.ParDo2(s, fn, beam.Impulse(s))
}

// readConfig is the serialisable part of Config carried in the pipeline.
type readConfig struct {
	Tables            []string `json:"tables"`
	ChunkSize         int      `json:"chunk_size"`
	Parallelism       int      `json:"parallelism"`
	BatchSize         int      `json:"batch_size"`
	AllowNoPrimaryKey bool     `json:"allow_no_primary_key"`
	Cursor            *Cursor  `json:"cursor,omitempty"`
	ZeroDates         string   `json:"zero_dates,omitempty"`
}

type snapshotFn struct {
	DSNEnv string          `json:"dsn_env"`
	Config readConfig      `json:"config"`
	Tables []*change.Table `json:"tables"`

	rows beam.Counter
}

func (f *snapshotFn) Setup() { f.rows = beam.NewCounter("beamsync", "mysql_rows_read") }

func (f *snapshotFn) ProcessElement(ctx context.Context, _ []byte, emit func(change.Batch), dead func(change.DeadLetter)) error {
	dsn := os.Getenv(f.DSNEnv)
	if dsn == "" {
		return fmt.Errorf("reading snapshot: environment variable %s is not set on this worker", f.DSNEnv)
	}
	cfg := Config{
		Tables: f.Config.Tables, ChunkSize: f.Config.ChunkSize, Parallelism: f.Config.Parallelism,
		BatchSize: f.Config.BatchSize, AllowNoPrimaryKey: f.Config.AllowNoPrimaryKey, Cursor: f.Config.Cursor,
		ZeroDates: f.Config.ZeroDates,
		OnDeadLetter: func(d change.DeadLetter) error {
			runstats.Add(runstats.Dead, d.Table, 1)
			dead(d)
			return nil
		},
	}
	info, err := Snapshot(ctx, dsn, cfg, f.Tables, func(b change.Batch) error {
		n := int64(len(b.Changes))
		f.rows.Inc(ctx, n)
		runstats.Add(runstats.Read, b.Table.QualifiedName(), n)
		emit(b)
		return nil
	})
	if err == nil {
		runstats.Set(runstats.SourceDone, "mysql", 1)
		for t, w := range info.Watermarks {
			runstats.SetWatermark(t, w)
		}
	}
	return err
}

func init() {
	register.DoFn4x1[context.Context, []byte, func(change.Batch), func(change.DeadLetter), error](&snapshotFn{})
	register.Emitter1[change.Batch]()
	register.Emitter1[change.DeadLetter]()
}
