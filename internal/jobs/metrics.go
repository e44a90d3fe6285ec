package jobs

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
)

// Metrics returns Prometheus collectors of the jobs this process works: how many ended, by kind
// and outcome, how long they ran and how long they waited in the queue. Each replica counts
// its own; sum them across replicas. The first call subscribes to River's events, Close ends
// the subscription.
func (j *Jobs) Metrics() []prometheus.Collector {
	j.metricsOnce.Do(func() {
		ended := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_jobs_total",
			Help: "Background jobs this replica worked, by kind and outcome (completed, failed, cancelled, snoozed).",
		}, []string{"kind", "outcome"})
		run := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paved_job_duration_seconds",
			Help:    "Time background jobs ran on this replica, by kind.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 5, 30, 120, 600},
		}, []string{"kind"})
		wait := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paved_job_queue_wait_seconds",
			Help:    "Time background jobs waited between becoming available and starting, by kind.",
			Buckets: []float64{.001, .01, .1, .5, 1, 5, 30, 120},
		}, []string{"kind"})
		events, cancel := j.client.subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
			river.EventKindJobCancelled, river.EventKindJobSnoozed)
		j.unsubscribe = cancel
		// River closes events when the subscription ends.
		go func() {
			for ev := range events {
				if ev.Job == nil {
					continue
				}
				outcome := map[river.EventKind]string{
					river.EventKindJobCompleted: "completed", river.EventKindJobFailed: "failed",
					river.EventKindJobCancelled: "cancelled", river.EventKindJobSnoozed: "snoozed",
				}[ev.Kind]
				ended.WithLabelValues(ev.Job.Kind, outcome).Inc()
				if ev.JobStats != nil {
					run.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.RunDuration.Seconds())
					wait.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
				}
			}
		}()
		j.metrics = []prometheus.Collector{ended, run, wait}
	})
	return j.metrics
}
