package discovery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts this process's imports and pulls for Prometheus. Each Store gets its own (no
// package-level collectors), so two stores in one process, as in tests, never share counts; a
// Store without Metrics counts nothing.
type Metrics struct {
	importRuns     *prometheus.CounterVec
	importEvents   *prometheus.CounterVec
	importRejected *prometheus.CounterVec
	importDuration *prometheus.HistogramVec
	pulls          *prometheus.CounterVec
	pullDuration   *prometheus.HistogramVec
}

// NewMetrics creates the import and pull collectors, with a zero series for every format and
// source kind, so that dashboards and alerts see 0 rather than nothing before the first run.
func NewMetrics() *Metrics {
	m := &Metrics{
		importRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_import_runs_total",
			Help: "Import runs this replica ended, by log format and status (finished, failed). A pulled page is a run too.",
		}, []string{"format", "status"}),
		importEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_import_events_total",
			Help: "Usage events imported, by log format and result (new, duplicate).",
		}, []string{"format", "result"}),
		importRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_import_rejected_lines_total",
			Help: "Log records an import could not read and rejected, by log format.",
		}, []string{"format"}),
		importDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paved_import_duration_seconds",
			Help:    "Time an import run took, by log format.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 1800},
		}, []string{"format"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_pulls_total",
			Help: "Pulls of identity-provider APIs this replica ran, by source kind and outcome (ok, failed).",
		}, []string{"kind", "outcome"}),
		pullDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paved_pull_duration_seconds",
			Help:    "Time a pull of a source took, pages and their imports included, by source kind.",
			Buckets: []float64{.05, .1, .5, 1, 5, 15, 60, 300, 1800},
		}, []string{"kind"}),
	}
	for _, f := range Formats() {
		for _, st := range []string{RunFinished, RunFailed} {
			m.importRuns.WithLabelValues(f, st)
		}
		m.importEvents.WithLabelValues(f, "new")
		m.importEvents.WithLabelValues(f, "duplicate")
		m.importRejected.WithLabelValues(f)
		m.importDuration.WithLabelValues(f)
	}
	for kind := range DefaultPullers() {
		m.pulls.WithLabelValues(kind, "ok")
		m.pulls.WithLabelValues(kind, "failed")
		m.pullDuration.WithLabelValues(kind)
	}
	return m
}

// Collectors returns the collectors to register on a registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.importRuns, m.importEvents, m.importRejected, m.importDuration, m.pulls, m.pullDuration}
}

func (m *Metrics) observeImport(run ImportRun, took time.Duration) {
	if m == nil || run.ID == 0 {
		return // nothing was recorded: the run never started
	}
	status := run.Status
	if status == RunRunning {
		status = RunFailed // it stopped before it could record its end
	}
	m.importRuns.WithLabelValues(run.Format, status).Inc()
	m.importEvents.WithLabelValues(run.Format, "new").Add(float64(run.New))
	m.importEvents.WithLabelValues(run.Format, "duplicate").Add(float64(run.Duplicate))
	m.importRejected.WithLabelValues(run.Format).Add(float64(run.Rejected))
	m.importDuration.WithLabelValues(run.Format).Observe(took.Seconds())
}

func (m *Metrics) observePull(kind string, err error, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	m.pulls.WithLabelValues(kind, outcome).Inc()
	m.pullDuration.WithLabelValues(kind).Observe(took.Seconds())
}
