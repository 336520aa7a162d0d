package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metricPrefix starts every metric name of the agent.
const metricPrefix = "cairn_agent_"

// Metrics are the agent's Prometheus metrics, in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	lastSuccess, lastRun, lastDuration *prometheus.GaugeVec
	lastBytes, lastFiles, snapshots    *prometheus.GaugeVec
	drillSuccess, drillLast            *prometheus.GaugeVec
	configError                        *prometheus.GaugeVec
	runs                               *prometheus.CounterVec
	forgetRemoved                      *prometheus.CounterVec

	targets, repoSize, pruneLast, up prometheus.Gauge
	pruneRuns                        *prometheus.CounterVec
	configErrors                     prometheus.Counter
}

// NewMetrics makes the metrics and registers them, with the Go runtime
// and process collectors, in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	perTarget := func(name, help string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + name, Help: help}, []string{"target"})
		m.Registry.MustRegister(g)
		return g
	}
	global := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: metricPrefix + name, Help: help})
		m.Registry.MustRegister(g)
		return g
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + name, Help: help}, labels)
		m.Registry.MustRegister(c)
		return c
	}
	m.lastSuccess = perTarget("last_success_timestamp_seconds", "When the target's last successful backup ended (Unix time).")
	m.lastRun = perTarget("last_run_timestamp_seconds", "When the target's last backup ended, successful or not (Unix time).")
	m.lastDuration = perTarget("last_duration_seconds", "How long the target's last backup took.")
	m.lastBytes = perTarget("last_bytes_added", "Bytes new to the repository in the target's last backup, before compression.")
	m.lastFiles = perTarget("last_files", "Files in the target's last backup.")
	m.snapshots = perTarget("snapshots", "The target's snapshots in the repository.")
	m.drillSuccess = perTarget("drill_success", "1 if the target's last restore drill matched its snapshot, 0 if not.")
	m.drillLast = perTarget("drill_last_timestamp_seconds", "When the target's last restore drill ended (Unix time).")
	m.configError = perTarget("config_error", "1 while the target's labels are invalid and it is not backed up.")
	m.runs = counter("runs_total", "Backup runs by target and result (success or failure).", "target", "result")
	m.forgetRemoved = counter("forget_removed_total", "Snapshots of the target removed by its retention policy.", "target")
	m.pruneRuns = counter("prune_runs_total", "Prune runs by result (success or failure).", "result")
	m.targets = global("targets", "Valid targets scheduled.")
	m.repoSize = global("repository_size_bytes", "Bytes the repository's blobs take in storage, compressed and encrypted.")
	m.pruneLast = global("prune_last_success_timestamp_seconds", "When the last successful prune ended (Unix time).")
	m.up = global("up", "1 while the agent runs.")
	m.configErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: metricPrefix + "config_errors_total",
		Help: "Configuration errors found in labels: each new or changed error counts once."})
	m.Registry.MustRegister(m.configErrors, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.up.Set(1)
	return m
}

// backupDone records a backup run of target.
func (m *Metrics) backupDone(target string, res BackupResult, err error, end time.Time, d time.Duration) {
	m.lastRun.WithLabelValues(target).Set(unix(end))
	m.lastDuration.WithLabelValues(target).Set(d.Seconds())
	m.lastBytes.WithLabelValues(target).Set(float64(res.BytesAdded))
	m.lastFiles.WithLabelValues(target).Set(float64(res.Files))
	if res.RepoSize > 0 {
		m.repoSize.Set(float64(res.RepoSize))
	}
	if err != nil {
		m.runs.WithLabelValues(target, resultFailure).Inc()
		return
	}
	m.runs.WithLabelValues(target, resultSuccess).Inc()
	m.lastSuccess.WithLabelValues(target).Set(unix(end))
}

// forgetDone records what forget did for target.
func (m *Metrics) forgetDone(target string, res ForgetResult) {
	m.forgetRemoved.WithLabelValues(target).Add(float64(res.Removed))
	m.snapshots.WithLabelValues(target).Set(float64(res.Remaining))
}

// drillDone records a restore drill of target.
func (m *Metrics) drillDone(target string, ok bool, end time.Time) {
	v := 0.0
	if ok {
		v = 1
	}
	m.drillSuccess.WithLabelValues(target).Set(v)
	m.drillLast.WithLabelValues(target).Set(unix(end))
}

// pruneDone records a prune.
func (m *Metrics) pruneDone(res PruneResult, err error, end time.Time) {
	if err != nil {
		m.pruneRuns.WithLabelValues(resultFailure).Inc()
		return
	}
	m.pruneRuns.WithLabelValues(resultSuccess).Inc()
	m.pruneLast.Set(unix(end))
	if res.RepoSize > 0 {
		m.repoSize.Set(float64(res.RepoSize))
	}
}

// setConfigError sets or deletes target's config_error series; isNew
// counts the error in config_errors_total.
func (m *Metrics) setConfigError(target string, bad, isNew bool) {
	if !bad {
		m.configError.DeleteLabelValues(target)
		return
	}
	m.configError.WithLabelValues(target).Set(1)
	if isNew {
		m.configErrors.Inc()
	}
}

// Results of runs, as label values and webhook statuses.
const (
	resultSuccess = "success"
	resultFailure = "failure"
)

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
