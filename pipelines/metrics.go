package pipelines

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/transforms"
)

// MetricsHandler serves a job's metrics in the Prometheus text format:
// rows read per table, records per view and sink by outcome, dead letters,
// and for a stream its lag (seconds and source bytes), the units read but
// not yet written, and the acknowledgements. Values are read at scrape time.
func MetricsHandler(j *Job) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&jobCollector{job: j.Name})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type jobCollector struct{ job string }

var (
	mRead = prometheus.NewDesc("beamsync_rows_read_total",
		"Rows and changes read from the source, per table.", []string{"job", "table"}, nil)
	mMapped = prometheus.NewDesc("beamsync_view_rows_mapped_total",
		"Rows a view's mapping produced.", []string{"job", "view"}, nil)
	mFiltered = prometheus.NewDesc("beamsync_view_rows_filtered_total",
		"Rows a view's where filter left out.", []string{"job", "view"}, nil)
	mSink = prometheus.NewDesc("beamsync_sink_records_total",
		"Records per view and sink by outcome: written, deleted, skipped_older (a newer version was there), dead_lettered, retried.",
		[]string{"job", "view", "sink", "outcome"}, nil)
	mDead = prometheus.NewDesc("beamsync_dead_letters_total",
		"Rows dead-lettered at any stage.", []string{"job"}, nil)
	mLag = prometheus.NewDesc("beamsync_stream_lag_seconds",
		"Age of the newest source transaction read (0 when caught up).", []string{"job"}, nil)
	mLagBytes = prometheus.NewDesc("beamsync_stream_lag_bytes",
		"How far the source's head is ahead of the stream, in the source's unit (WAL or binlog bytes, Kafka messages).", []string{"job"}, nil)
	mOutstanding = prometheus.NewDesc("beamsync_stream_units_in_flight",
		"Source transactions read and not yet written by every sink.", []string{"job"}, nil)
	mAcks = prometheus.NewDesc("beamsync_stream_acknowledgements_total",
		"Checkpoints the stream acknowledged to the source.", []string{"job"}, nil)
)

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mRead, mMapped, mFiltered, mSink, mDead, mLag, mLagBytes, mOutstanding, mAcks} {
		ch <- d
	}
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{c.job}, labels...)...)
	}
	for _, t := range runstats.Subjects(runstats.Read) {
		counter(mRead, runstats.Get(runstats.Read, t), t)
	}
	for _, v := range runstats.Subjects(runstats.Mapped) {
		counter(mMapped, runstats.Get(runstats.Mapped, v), v)
		counter(mFiltered, runstats.Get(runstats.Filtered, v), v)
	}
	outcomes := []struct{ kind, name string }{
		{runstats.Written, "written"}, {runstats.Deleted, "deleted"}, {runstats.Older, "skipped_older"},
		{runstats.Dead, "dead_lettered"}, {runstats.Retried, "retried"},
	}
	seen := map[string]bool{}
	for _, o := range outcomes {
		for _, subj := range runstats.Subjects(o.kind) {
			view, sink, ok := strings.Cut(subj, "@")
			if !ok || seen[subj] {
				continue
			}
			seen[subj] = true
			for _, o := range outcomes {
				counter(mSink, runstats.Get(o.kind, subj), view, sink, o.name)
			}
		}
	}
	counter(mDead, runstats.Sum(runstats.Dead))
	if ls := transforms.Live(c.job); ls != nil {
		age, bytes := ls.Lag()
		ch <- prometheus.MustNewConstMetric(mLag, prometheus.GaugeValue, age.Seconds(), c.job)
		if bytes >= 0 {
			ch <- prometheus.MustNewConstMetric(mLagBytes, prometheus.GaugeValue, float64(bytes), c.job)
		}
		ch <- prometheus.MustNewConstMetric(mOutstanding, prometheus.GaugeValue, float64(ls.Outstanding()), c.job)
		counter(mAcks, ls.Acks())
	}
}
