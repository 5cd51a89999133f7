package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/transforms"
)

// Read is the Beam entry point: a consistent, parallel snapshot of the
// tables, as a PCollection of change.Batch. The connection string is read on
// the worker from the environment variable dsnEnv, so it never becomes part
// of the pipeline.
func Read(s beam.Scope, dsnEnv string, cfg Config, tables []*change.Table) beam.PCollection {
	s = s.Scope("postgres.Read")
	fn := &snapshotFn{DSNEnv: dsnEnv, Tables: tables, Config: readConfig{
		Tables: cfg.Tables, ChunkSize: cfg.ChunkSize, Parallelism: cfg.Parallelism,
		BatchSize: cfg.BatchSize, AllowNoPrimaryKey: cfg.AllowNoPrimaryKey, Cursor: cfg.Cursor,
	}}
	return beam.ParDo(s, fn, beam.Impulse(s))
}

// readConfig is the serialisable part of Config carried in the pipeline.
type readConfig struct {
	Tables            []string `json:"tables"`
	ChunkSize         int      `json:"chunk_size"`
	Parallelism       int      `json:"parallelism"`
	BatchSize         int      `json:"batch_size"`
	AllowNoPrimaryKey bool     `json:"allow_no_primary_key"`
	Cursor            *Cursor  `json:"cursor,omitempty"`
}

type snapshotFn struct {
	DSNEnv string          `json:"dsn_env"`
	Config readConfig      `json:"config"`
	Tables []*change.Table `json:"tables"`

	rows beam.Counter
}

func (f *snapshotFn) Setup() { f.rows = beam.NewCounter("beamsync", "postgres_rows_read") }

func (f *snapshotFn) ProcessElement(ctx context.Context, _ []byte, emit func(change.Batch)) error {
	dsn := os.Getenv(f.DSNEnv)
	if dsn == "" {
		return fmt.Errorf("reading snapshot: environment variable %s is not set on this worker", f.DSNEnv)
	}
	cfg := Config{
		Tables: f.Config.Tables, ChunkSize: f.Config.ChunkSize, Parallelism: f.Config.Parallelism,
		BatchSize: f.Config.BatchSize, AllowNoPrimaryKey: f.Config.AllowNoPrimaryKey, Cursor: f.Config.Cursor,
	}
	info, err := Snapshot(ctx, dsn, cfg, f.Tables, func(b change.Batch) error {
		n := int64(len(b.Changes))
		f.rows.Inc(ctx, n)
		runstats.Add(runstats.Read, b.Table.QualifiedName(), n)
		emit(b)
		return nil
	})
	if err == nil {
		runstats.Set(runstats.SourceDone, "postgres", 1)
		for t, w := range info.Watermarks {
			runstats.SetWatermark(t, w)
		}
	}
	return err
}

func init() {
	register.DoFn3x1[context.Context, []byte, func(change.Batch), error](&snapshotFn{})
	register.Emitter1[change.Batch]()
	transforms.RegisterStreamSource("postgres", openStream)
}

// streamSpec is the configuration of the "postgres" stream kind (see
// transforms.RegisterStreamSource), carried in the pipeline as JSON.
type streamSpec struct {
	DSNEnv string          `json:"dsn_env"`
	Config readConfig      `json:"config"`
	Stream StreamConfig    `json:"stream"`
	Tables []*change.Table `json:"tables"`
}

// StreamSpecJSON is the spec of a "postgres" change stream: the tables,
// read with cfg and captured with scfg; the connection string is read on
// the worker from the environment variable dsnEnv.
func StreamSpecJSON(dsnEnv string, cfg Config, scfg StreamConfig, tables []*change.Table) (string, error) {
	b, err := json.Marshal(streamSpec{DSNEnv: dsnEnv, Stream: scfg, Tables: tables, Config: readConfig{
		Tables: cfg.Tables, ChunkSize: cfg.ChunkSize, Parallelism: cfg.Parallelism,
		BatchSize: cfg.BatchSize, AllowNoPrimaryKey: cfg.AllowNoPrimaryKey,
	}})
	return string(b), err
}

func openStream(ctx context.Context, spec string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error) {
	var s streamSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return nil, fmt.Errorf("postgres stream spec: %w", err)
	}
	dsn := os.Getenv(s.DSNEnv)
	if dsn == "" {
		return nil, fmt.Errorf("opening the change stream: environment variable %s is not set on this worker", s.DSNEnv)
	}
	if from == "" && snapshot != nil {
		cfg := Config{
			Tables: s.Config.Tables, ChunkSize: s.Config.ChunkSize, Parallelism: s.Config.Parallelism,
			BatchSize: s.Config.BatchSize, AllowNoPrimaryKey: s.Config.AllowNoPrimaryKey,
		}
		st, _, err := SnapshotAndStream(ctx, dsn, cfg, s.Stream, s.Tables, snapshot)
		return st, err
	}
	return OpenStream(ctx, dsn, s.Stream, s.Tables, from)
}
