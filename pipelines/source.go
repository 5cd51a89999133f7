package pipelines

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/files"
	"github.com/beamsync/beamsync/sources/kafka"
	"github.com/beamsync/beamsync/sources/mysql"
	"github.com/beamsync/beamsync/sources/postgres"
)

// source is what the pipeline needs of a source kind: its tables, described
// at construction, and a Beam read of them.
type source interface {
	describe(ctx context.Context) ([]*change.Table, error)
	// read returns the change batches and the decode dead letters (may be
	// an invalid PCollection when the source has none).
	read(s beam.Scope, tables []*change.Table) (batches, dead beam.PCollection)
}

func newSource(j *Job) (source, error) {
	if len(j.Sources) > 0 {
		return newMultiSource(j)
	}
	return newSourceFor(j, &j.Source)
}

func newSourceFor(j *Job, spec *SourceSpec) (source, error) {
	switch spec.Kind {
	case SourcePostgres:
		return &postgresSource{job: j, spec: spec, cfg: spec.postgresConfig()}, nil
	case SourceMySQL:
		return &mysqlSource{job: j, spec: spec, cfg: spec.mysqlConfig()}, nil
	case SourceFiles:
		return &filesSource{cfgs: j.filesConfigs(spec)}, nil
	case SourceKafka:
		return &kafkaSource{job: j, cfg: j.kafkaConfig()}, nil
	}
	return nil, fmt.Errorf("unknown source kind %q", spec.Kind)
}

// PostgresConfig is the snapshot configuration of a postgres job.
func (j *Job) PostgresConfig() postgres.Config { return j.Source.postgresConfig() }

func (s *SourceSpec) postgresConfig() postgres.Config {
	return postgres.Config{
		Tables: s.Tables, ChunkSize: s.ChunkSize, Parallelism: s.Parallelism,
		BatchSize: s.BatchSize, AllowNoPrimaryKey: s.AllowNoPrimaryKey,
	}.WithDefaults()
}

// MySQLConfig is the snapshot configuration of a mysql job.
func (j *Job) MySQLConfig() mysql.Config { return j.Source.mysqlConfig() }

func (s *SourceSpec) mysqlConfig() mysql.Config {
	return mysql.Config{
		Tables: s.Tables, ChunkSize: s.ChunkSize, Parallelism: s.Parallelism,
		BatchSize: s.BatchSize, AllowNoPrimaryKey: s.AllowNoPrimaryKey, ZeroDates: s.ZeroDates,
	}.WithDefaults()
}

// FilesConfigs are the file configurations of a files job, paths resolved.
func (j *Job) FilesConfigs() []files.Config { return j.filesConfigs(&j.Source) }

func (j *Job) filesConfigs(s *SourceSpec) []files.Config {
	var cfgs []files.Config
	for _, f := range s.Files {
		cfgs = append(cfgs, files.Config{
			Path: j.Path(f.Path), Format: f.Format, Table: f.Table, Key: f.Key, BatchSize: s.BatchSize, Outbox: f.Outbox,
			Truncate: s.Stream.Truncate,
		})
	}
	return cfgs
}

// DSN reads the connection string from the environment variable the job
// names. The value is a secret: it is never logged nor put in the pipeline.
func (j *Job) DSN() (string, error) { return j.dsnOf(&j.Source) }

func (j *Job) dsnOf(s *SourceSpec) (string, error) {
	v := os.Getenv(s.DSNEnv)
	if v == "" {
		return "", j.errAt(j.sourcePath(s)+".dsn_env", "environment variable %s is not set: export it with the connection string (e.g. %s)",
			s.DSNEnv, dsnExample(s.Kind))
	}
	return v, nil
}

func dsnExample(kind string) string {
	if kind == SourceMySQL {
		return "user:password@tcp(host:3306)/dbname"
	}
	return "postgres://user:password@host:5432/dbname"
}

type postgresSource struct {
	job  *Job
	spec *SourceSpec
	cfg  postgres.Config
}

func (p *postgresSource) describe(ctx context.Context) ([]*change.Table, error) {
	dsn, err := p.job.dsnOf(p.spec)
	if err != nil {
		return nil, err
	}
	tables, err := postgres.Describe(ctx, dsn, p.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s (postgres, $%s): %w", p.job.sourcePath(p.spec), p.spec.DSNEnv, err)
	}
	return tables, nil
}

func (p *postgresSource) read(s beam.Scope, tables []*change.Table) (beam.PCollection, beam.PCollection) {
	return postgres.Read(s, p.spec.DSNEnv, p.cfg, tables), beam.PCollection{}
}

func (p *postgresSource) streamKind() string { return "postgres" }

func (p *postgresSource) streamSpec(tables []*change.Table) (string, error) {
	return postgres.StreamSpecJSON(p.job.Source.DSNEnv, p.cfg, p.job.postgresStreamConfig(), tables)
}

// postgresStreamConfig is the change-capture configuration of a postgres
// job.
func (j *Job) postgresStreamConfig() postgres.StreamConfig {
	st := j.Source.Stream
	return postgres.StreamConfig{Name: j.Name, Slot: st.Slot, Publication: st.Publication,
		StatusInterval: st.StatusInterval, Truncate: st.Truncate, Toast: st.Toast}
}

type mysqlSource struct {
	job  *Job
	spec *SourceSpec
	cfg  mysql.Config
}

func (m *mysqlSource) describe(ctx context.Context) ([]*change.Table, error) {
	dsn, err := m.job.dsnOf(m.spec)
	if err != nil {
		return nil, err
	}
	tables, err := mysql.Describe(ctx, dsn, m.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s (mysql, $%s): %w", m.job.sourcePath(m.spec), m.spec.DSNEnv, err)
	}
	return tables, nil
}

func (m *mysqlSource) read(s beam.Scope, tables []*change.Table) (beam.PCollection, beam.PCollection) {
	return mysql.Read(s, m.spec.DSNEnv, m.cfg, tables)
}

func (m *mysqlSource) streamKind() string { return "mysql" }

func (m *mysqlSource) streamSpec(tables []*change.Table) (string, error) {
	return mysql.StreamSpecJSON(m.job.Source.DSNEnv, m.cfg, m.job.mysqlStreamConfig(), tables)
}

// mysqlStreamConfig is the change-capture configuration of a mysql job.
func (j *Job) mysqlStreamConfig() mysql.StreamConfig {
	st := j.Source.Stream
	return mysql.StreamConfig{Name: j.Name, ServerID: st.ServerID, Heartbeat: st.Heartbeat, Truncate: st.Truncate}
}

// kafkaSource reads Debezium change events from Kafka topics; it only
// streams.
type kafkaSource struct {
	job *Job
	cfg kafka.Config
}

// kafkaConfig is the kafka configuration of a job, with the job's defaults:
// the consumer group "beamsync-<job>" and the source's batch size.
func (j *Job) kafkaConfig() kafka.Config {
	var cfg kafka.Config
	if j.Source.Kafka != nil {
		cfg = *j.Source.Kafka
	}
	if cfg.Group == "" {
		cfg.Group = "beamsync-" + j.Name
	}
	cfg.Truncate = j.Source.Stream.Truncate
	if cfg.BatchSize == 0 {
		cfg.BatchSize = j.Source.BatchSize
	}
	return cfg
}

func (k *kafkaSource) describe(ctx context.Context) ([]*change.Table, error) {
	tables, err := kafka.Describe(ctx, k.cfg)
	if err != nil {
		return nil, fmt.Errorf("source (kafka): %w", err)
	}
	return tables, nil
}

func (k *kafkaSource) read(beam.Scope, []*change.Table) (beam.PCollection, beam.PCollection) {
	panic("kafka sources only stream (Build refuses them)")
}

func (k *kafkaSource) streamKind() string { return "kafka" }

func (k *kafkaSource) streamSpec(tables []*change.Table) (string, error) {
	return kafka.StreamSpecJSON(k.cfg, tables)
}

type filesSource struct {
	cfgs []files.Config
}

func (f *filesSource) describe(ctx context.Context) ([]*change.Table, error) {
	var all []*change.Table
	for _, c := range f.cfgs {
		ts, err := files.Describe(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("source (files): %w", err)
		}
		all = append(all, ts...)
	}
	return all, nil
}

func (f *filesSource) read(s beam.Scope, tables []*change.Table) (beam.PCollection, beam.PCollection) {
	return files.ReadAll(s, f.cfgs, tables)
}
