package kafka

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/transforms"
)

// StreamKind is the kind under which the source registers its stream.
const StreamKind = "kafka"

// streamSpec is the JSON spec of a stream (what StreamSpecJSON writes).
type streamSpec struct {
	Config Config          `json:"config"`
	Tables []*change.Table `json:"tables"`
}

// StreamSpecJSON renders the JSON spec of a stream of kind "kafka" that
// reads the tables (transforms.StreamSpec.Spec).
func StreamSpecJSON(cfg Config, tables []*change.Table) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(streamSpec{Config: cfg, Tables: tables})
	if err != nil {
		return "", fmt.Errorf("kafka source: encoding the stream spec: %w", err)
	}
	return string(b), nil
}

// openSpec opens a stream from its JSON spec. A topic has no snapshot: the
// snapshot callback is ignored (the stream starts at the group's offsets,
// or Config.Start).
func openSpec(ctx context.Context, spec string, from change.Checkpoint, _ func(change.Batch) error) (change.Stream, error) {
	var s streamSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return nil, fmt.Errorf("kafka source: decoding the stream spec: %w", err)
	}
	return OpenStream(ctx, s.Config, s.Tables, from)
}

func init() {
	transforms.RegisterStreamSource(StreamKind, openSpec)
}
