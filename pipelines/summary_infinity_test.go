package pipelines

import (
	"strings"
	"testing"
)

func TestSummaryShowsInfinityPolicyCounts(t *testing.T) {
	s := &Summary{Job: "j", Views: []ViewSummary{{View: "v", Sinks: []SinkSummary{
		{Sink: "bq", Written: 3, InfinityClamped: 2, InfinityNulled: 1}, {Sink: "file", Written: 3}}}}}
	var b strings.Builder
	s.Print(&b)
	if got := b.String(); !strings.Contains(got, "v@bq: infinite timestamps/dates the sink cannot hold: 2 clamped, 1 written as null") ||
		strings.Contains(got, "v@file: infinite") {
		t.Errorf("summary:\n%s", got)
	}
}
