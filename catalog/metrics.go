package catalog

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SearchMetrics counts this process's catalogue searches for Prometheus, labelled with the
// engine behind them (bleve, meilisearch). Each Service gets its own; a Service without them
// counts nothing.
type SearchMetrics struct {
	engine   string
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	zero     *prometheus.CounterVec
}

// NewSearchMetrics creates the search collectors for the named engine, each with a zero series
// so that dashboards see 0 before the first search.
func NewSearchMetrics(engine string) *SearchMetrics {
	m := &SearchMetrics{
		engine: engine,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_search_requests_total",
			Help: "Catalogue searches, by engine and outcome (ok, error).",
		}, []string{"engine", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paved_search_duration_seconds",
			Help:    "Time the search index took to answer, by engine.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"engine"}),
		zero: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_search_zero_results_total",
			Help: "Catalogue searches with a query that found nothing, by engine: what people look for and do not find.",
		}, []string{"engine"}),
	}
	m.requests.WithLabelValues(engine, "ok")
	m.requests.WithLabelValues(engine, "error")
	m.duration.WithLabelValues(engine)
	m.zero.WithLabelValues(engine)
	return m
}

// Collectors returns the collectors to register on a registry.
func (m *SearchMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.zero}
}

func (m *SearchMetrics) observe(q SearchQuery, res SearchResult, err error, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.requests.WithLabelValues(m.engine, outcome).Inc()
	m.duration.WithLabelValues(m.engine).Observe(took.Seconds())
	// Browsing (no words typed) that finds nothing is an empty filter, not a missed search.
	if err == nil && res.Total == 0 && q.Text != "" {
		m.zero.WithLabelValues(m.engine).Inc()
	}
}
