package mysql

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/transforms"
)

// StreamKind is the kind of the MySQL/MariaDB change stream registered
// with transforms.RegisterStreamSource.
const StreamKind = "mysql"

// streamSpec is the JSON spec of a "mysql" stream.
type streamSpec struct {
	DSNEnv string          `json:"dsn_env"`
	Config readConfig      `json:"config"`
	Stream streamSpecCfg   `json:"stream"`
	Tables []*change.Table `json:"tables"`
}

type streamSpecCfg struct {
	ServerID    uint32 `json:"server_id,omitempty"`
	Name        string `json:"name,omitempty"`
	HeartbeatMS int64  `json:"heartbeat_ms,omitempty"`
	Truncate    string `json:"truncate,omitempty"`
}

// StreamSpecJSON builds the JSON spec of a "mysql" stream for
// transforms.StreamSpec.Spec. The connection string is read on the worker
// from the environment variable dsnEnv, so it never becomes part of the
// pipeline. The configurations are checked here, so that a spec that can
// never work is refused when the pipeline is built.
func StreamSpecJSON(dsnEnv string, cfg Config, scfg StreamConfig, tables []*change.Table) (string, error) {
	if dsnEnv == "" {
		return "", fmt.Errorf("mysql stream: name the environment variable that holds the DSN")
	}
	if err := cfg.validateSizes(); err != nil {
		return "", err
	}
	if err := scfg.Validate(); err != nil {
		return "", err
	}
	if len(tables) == 0 {
		return "", fmt.Errorf("mysql stream: no tables: pass the tables Describe returns")
	}
	spec := streamSpec{
		DSNEnv: dsnEnv,
		Config: readConfig{
			Tables: cfg.Tables, ChunkSize: cfg.ChunkSize, Parallelism: cfg.Parallelism,
			BatchSize: cfg.BatchSize, AllowNoPrimaryKey: cfg.AllowNoPrimaryKey, ZeroDates: cfg.ZeroDates,
		},
		Stream: streamSpecCfg{
			ServerID: scfg.ServerID, Name: scfg.Name,
			HeartbeatMS: scfg.Heartbeat.Milliseconds(), Truncate: scfg.Truncate,
		},
		Tables: tables,
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("mysql stream: encoding the spec: %w", err)
	}
	return string(b), nil
}

// parseStreamSpec decodes what StreamSpecJSON built.
func parseStreamSpec(spec string) (streamSpec, Config, StreamConfig, error) {
	var s streamSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return s, Config{}, StreamConfig{}, fmt.Errorf("mysql stream: decoding the spec (build it with StreamSpecJSON): %w", err)
	}
	cfg := Config{
		Tables: s.Config.Tables, ChunkSize: s.Config.ChunkSize, Parallelism: s.Config.Parallelism,
		BatchSize: s.Config.BatchSize, AllowNoPrimaryKey: s.Config.AllowNoPrimaryKey, ZeroDates: s.Config.ZeroDates,
	}
	scfg := StreamConfig{
		ServerID: s.Stream.ServerID, Name: s.Stream.Name,
		Heartbeat: time.Duration(s.Stream.HeartbeatMS) * time.Millisecond, Truncate: s.Stream.Truncate,
	}
	return s, cfg, scfg, nil
}

// openStream is the "mysql" stream opener: with from empty and snapshot
// set, the snapshot first and the stream after it; otherwise the stream
// from from (or from the server's current position).
func openStream(ctx context.Context, spec string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error) {
	s, cfg, scfg, err := parseStreamSpec(spec)
	if err != nil {
		return nil, err
	}
	dsn := os.Getenv(s.DSNEnv)
	if dsn == "" {
		return nil, fmt.Errorf("mysql stream: environment variable %s is not set on this worker: set it to the source's DSN (user:password@tcp(host:port)/db)", s.DSNEnv)
	}
	if from == "" && snapshot != nil {
		st, _, err := SnapshotAndStream(ctx, dsn, cfg, scfg, s.Tables, snapshot)
		return st, err
	}
	return OpenStream(ctx, dsn, cfg, scfg, s.Tables, from)
}

func init() {
	transforms.RegisterStreamSource(StreamKind, openStream)
}
