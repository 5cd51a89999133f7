package bigquery

import (
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/internal/retry"
)

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	cfg := Config{
		Dataset:         "my-dataset",
		Table:           "v.{view}",
		Mode:            "merge",
		Endpoint:        "localhost:9050",
		BatchRows:       -1,
		FlushInterval:   -time.Second,
		Retry:           retry.Policy{Attempts: -1},
		StorageWriteCDC: true,
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid configuration")
	}
	for _, want := range []string{`dataset "my-dataset"`, `table "v.{view}"`, `mode "merge"`, `endpoint "localhost:9050"`,
		"project is required with an endpoint", "batch_rows must not be negative", "flush_interval must not be negative",
		"retry bounds", "storage_write_cdc needs real BigQuery"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if err := (&Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "dataset is required") {
		t.Errorf("empty config: %v, want dataset is required", err)
	}
	cdcReplace := Config{Dataset: "d", Mode: ModeReplace, StorageWriteCDC: true}
	if err := cdcReplace.Validate(); err == nil || !strings.Contains(err.Error(), "needs mode") {
		t.Errorf("storage_write_cdc with mode replace: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	d := Config{Dataset: "d"}.WithDefaults()
	if d.Table != "{view}" || d.Mode != ModeReplace || d.BatchRows != DefaultBatchRows || d.BatchBytes != DefaultBatchBytes ||
		d.FlushInterval != time.Minute || d.MergeInterval != 5*time.Minute || d.TombstoneRetention != 7*24*time.Hour ||
		d.MaxRejectedRows != 100 || d.Retry.Attempts != 8 {
		t.Errorf("defaults: %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if m := (Config{Dataset: "d", StorageWriteCDC: true}).WithDefaults().Mode; m != ModeUpsert {
		t.Errorf("storage_write_cdc defaults to mode %q, want upsert", m)
	}
	if got := (&Config{Table: "rpt_{view}"}).TableName("orders"); got != "rpt_orders" {
		t.Errorf("TableName = %q", got)
	}
}

func TestLocalEndpoint(t *testing.T) {
	for ep, want := range map[string]bool{
		"http://127.0.0.1:9050": true, "http://localhost:9050": true, "http://[::1]:9050": true,
		"https://bigquery.googleapis.com": false, "http://10.0.0.1:9050": false, "::": false,
	} {
		if got := localEndpoint(ep); got != want {
			t.Errorf("localEndpoint(%q) = %v, want %v", ep, got, want)
		}
	}
}
