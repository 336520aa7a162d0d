package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

const (
	agentWait = 8 * time.Second
	agentTick = 20 * time.Millisecond
)

func TestAgentBacksUpOnScheduleAndReportsBadLabels(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil,
		vol("good", labelled("cairn.keep-last", "2")),
		vol("bad", labelled("cairn.schedule", "whenever")),
		vol("ignored", map[string]string{"cairn.schedule": "x"}))
	ta.start(t)
	m := ta.metrics
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.runs.WithLabelValues("volume/good", resultSuccess)) >= 2
	}, agentWait, agentTick)
	require.Equal(t, 1.0, testutil.ToFloat64(m.targets))
	require.Equal(t, 1.0, testutil.ToFloat64(m.configError.WithLabelValues("volume/bad")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.configErrors))
	require.Equal(t, 100.0, testutil.ToFloat64(m.lastBytes.WithLabelValues("volume/good")))
	require.Equal(t, 3.0, testutil.ToFloat64(m.lastFiles.WithLabelValues("volume/good")))
	require.Equal(t, 4096.0, testutil.ToFloat64(m.repoSize))
	require.Equal(t, 1.0, testutil.ToFloat64(m.up))
	require.InDelta(t, float64(time.Now().Unix()), testutil.ToFloat64(m.lastSuccess.WithLabelValues("volume/good")), 5)
	require.Eventually(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.forgets["volume/good"] }) >= 2 }, agentWait, agentTick)
	require.GreaterOrEqual(t, testutil.ToFloat64(m.forgetRemoved.WithLabelValues("volume/good")), 2.0)
	require.GreaterOrEqual(t, testutil.ToFloat64(m.snapshots.WithLabelValues("volume/good")), 1.0)
	require.True(t, ta.logs.has(`"msg":"config error: target skipped","target":"volume/bad"`), ta.logs.String())
	require.True(t, ta.logs.has(`"msg":"backup done","target":"volume/good","snapshot":"snap-good"`), ta.logs.String())
	require.NoError(t, ta.health.Err())
}

func TestAgentNeverRunsATargetTwiceAtOnce(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil, vol("slow", labelled()))
	ta.runner.release = make(chan struct{})
	ta.start(t)
	// @every 1s fires again while the first run still waits.
	require.Eventually(t, func() bool { return ta.logs.has("run skipped") }, agentWait, agentTick)
	require.Equal(t, 1, ta.runner.count(func(f *fakeRunner) int { return f.backups["volume/slow"] }))
	close(ta.runner.release)
	require.Eventually(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.backups["volume/slow"] }) >= 2 }, agentWait, agentTick)
	require.Equal(t, 1, ta.runner.count(func(f *fakeRunner) int { return f.maxTarget }))
}

func TestAgentConcurrencyLimit(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, func(s *Settings) { s.MaxConcurrent = 2 })
	ta.runner.release = make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ta.sched = newScheduler(ctx, ta.trigger)
	for _, name := range []string{"a", "b", "c", "d"} {
		ta.trigger(&Target{ID: "volume/" + name, Name: name})
	}
	require.Eventually(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.total }) == 2 }, agentWait, agentTick)
	require.Never(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.total }) > 2 }, 300*time.Millisecond, agentTick)
	close(ta.runner.release)
	ta.runs.Wait()
	require.Equal(t, 2, ta.runner.maxTotal)
	require.Len(t, ta.runner.backups, 4)
}

func TestAgentJitterDelaysRuns(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil)
	ta.jitter = func() time.Duration { return 300 * time.Millisecond }
	ta.sched = newScheduler(t.Context(), ta.trigger)
	start := time.Now()
	ta.trigger(&Target{ID: "volume/j", Name: "j"})
	ta.runs.Wait()
	require.Len(t, ta.runner.started, 1)
	require.GreaterOrEqual(t, ta.runner.started[0].Sub(start), 300*time.Millisecond)

	// The default jitter stays below the setting.
	a := NewAgent(Settings{Jitter: 50 * time.Millisecond}, nil, nil, nil, NewMetrics(), NewHealth(), nil)
	for range 100 {
		d := a.jitter()
		require.True(t, d >= 0 && d < 50*time.Millisecond, d)
	}
	require.Zero(t, NewAgent(Settings{}, nil, nil, nil, NewMetrics(), NewHealth(), nil).jitter())
}

func TestAgentRecoversPanicsAndPostsFailures(t *testing.T) {
	t.Parallel()
	events := make(chan Event, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&ev) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		events <- ev
	}))
	defer srv.Close()
	ta := newTestAgent(t, nil)
	ta.webhook = &Webhook{URL: srv.URL}
	ta.runner.panicMsg = "boom"
	ta.sched = newScheduler(t.Context(), ta.trigger)
	ta.trigger(&Target{ID: "volume/p", Name: "p"})
	ta.runs.Wait()
	require.Equal(t, 1.0, testutil.ToFloat64(ta.metrics.runs.WithLabelValues("volume/p", resultFailure)))
	require.Zero(t, testutil.ToFloat64(ta.metrics.lastSuccess.WithLabelValues("volume/p")))
	ev := <-events
	require.Equal(t, "backup", ev.Event)
	require.Equal(t, "volume/p", ev.Target)
	require.Equal(t, resultFailure, ev.Status)
	require.Contains(t, ev.Error, "panic: boom")
	_, err := time.Parse(time.RFC3339, ev.Time)
	require.NoError(t, err)
	require.Zero(t, ta.runner.forgets["volume/p"], "no forget after a failure")

	// Successes are not posted unless Always.
	ta.runner.panicMsg = ""
	ta.trigger(&Target{ID: "volume/p", Name: "p"})
	ta.runs.Wait()
	require.Empty(t, events)
	ta.webhook.Always = true
	ta.trigger(&Target{ID: "volume/p", Name: "p"})
	ta.runs.Wait()
	ev = <-events
	require.Equal(t, resultSuccess, ev.Status)
	require.Equal(t, "snap-p", ev.Snapshot)
	require.Equal(t, uint64(100), ev.BytesAdded)
	require.Empty(t, ev.Error)
}

func TestAgentFollowsChanges(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, func(s *Settings) { s.DefaultSchedule = "@every 1h" }, vol("a", labelled("cairn.bogus", "1")))
	ta.start(t)
	m := ta.metrics
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.configErrors) == 1 }, agentWait, agentTick)
	require.Equal(t, 0.0, testutil.ToFloat64(m.targets))

	// The label is fixed: an event re-lists, the error series goes away.
	ta.disc.set(nil, vol("a", labelled()), ctr("c", labelled(), "v1"))
	ta.disc.events <- struct{}{}
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.targets) == 2 }, agentWait, agentTick)
	require.Equal(t, 0, testutil.CollectAndCount(m.configError))
	require.Equal(t, []string{"container/c", "volume/a"}, targetIDs(ta.Agent))

	// A changed schedule is scheduled anew; a gone target is dropped.
	ta.disc.set(nil, vol("a", labelled("cairn.schedule", "@every 1s")))
	ta.disc.events <- struct{}{}
	require.Eventually(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.backups["volume/a"] }) >= 1 }, agentWait, agentTick)
	require.Equal(t, []string{"volume/a"}, targetIDs(ta.Agent))
	require.True(t, ta.logs.has(`"msg":"target changed","target":"volume/a"`))
	require.True(t, ta.logs.has(`"msg":"target removed","target":"container/c"`))

	// A failing list keeps the schedules and makes the agent unhealthy.
	ta.disc.set(errors.New("daemon down"))
	ta.disc.events <- struct{}{}
	require.Eventually(t, func() bool { return ta.health.Err() != nil }, agentWait, agentTick)
	require.ErrorContains(t, ta.health.Err(), "docker: daemon down")
	require.Equal(t, []string{"volume/a"}, targetIDs(ta.Agent))
}

func targetIDs(a *Agent) []string {
	var ids []string
	for _, t := range a.sortedTargets() {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestAgentShutdownCancelsRuns(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil, vol("long", labelled()))
	ta.runner.release = make(chan struct{}) // never closed
	stop := ta.start(t)
	require.Eventually(t, func() bool { return ta.runner.count(func(f *fakeRunner) int { return f.total }) == 1 }, agentWait, agentTick)
	start := time.Now()
	stop()
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, 1, ta.runner.count(func(f *fakeRunner) int { return f.cancels }))
	require.Equal(t, 1.0, testutil.ToFloat64(ta.metrics.runs.WithLabelValues("volume/long", resultFailure)))
	require.ErrorContains(t, ta.health.Err(), "not running")
}

func TestAgentRunTimeout(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, func(s *Settings) { s.RunTimeout = 100 * time.Millisecond })
	ta.runner.release = make(chan struct{})
	ta.sched = newScheduler(t.Context(), ta.trigger)
	ta.trigger(&Target{ID: "volume/t", Name: "t"})
	ta.runs.Wait()
	require.Equal(t, 1.0, testutil.ToFloat64(ta.metrics.runs.WithLabelValues("volume/t", resultFailure)))
	require.True(t, ta.logs.has("deadline exceeded"))
}

func TestAgentPruneAndDrillJobs(t *testing.T) {
	t.Parallel()
	every, err := parseSchedule("@every 1s")
	require.NoError(t, err)
	ta := newTestAgent(t, func(s *Settings) {
		s.DefaultSchedule, s.Prune, s.Drill, s.Forget = "@every 1h", every, every, every
	}, vol("a", labelled()), vol("b", labelled()))
	ta.start(t)
	m := ta.metrics
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.pruneRuns.WithLabelValues(resultSuccess)) >= 1 &&
			testutil.ToFloat64(m.drillSuccess.WithLabelValues("volume/b")) == 1 &&
			ta.runner.count(func(f *fakeRunner) int { return f.forgets["volume/a"] }) >= 1
	}, agentWait, agentTick)
	require.Equal(t, 2048.0, testutil.ToFloat64(m.repoSize))
	require.Positive(t, testutil.ToFloat64(m.pruneLast))
	require.Positive(t, testutil.ToFloat64(m.drillLast.WithLabelValues("volume/a")))
}

func TestAgentDrillOutcomes(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil)
	ta.sched = newScheduler(t.Context(), ta.trigger)
	tg := &Target{ID: "volume/d", Name: "d"}
	m := ta.metrics

	ta.runner.drillErr = ErrNoSnapshot
	ta.drill(t.Context(), tg)
	require.Equal(t, 0, testutil.CollectAndCount(m.drillSuccess), "no snapshot: no result")

	ta.runner.drillErr, ta.runner.drill = nil, DrillResult{Snapshot: "s1", OK: false, Problem: "a.txt: content"}
	ta.drill(t.Context(), tg)
	require.Equal(t, 0.0, testutil.ToFloat64(m.drillSuccess.WithLabelValues("volume/d")))
	require.True(t, ta.logs.has("a.txt: content"))

	ta.runner.drill = DrillResult{Snapshot: "s2", OK: true}
	ta.drill(t.Context(), tg)
	require.Equal(t, 1.0, testutil.ToFloat64(m.drillSuccess.WithLabelValues("volume/d")))

	ta.runner.drillErr = errors.New("repository gone")
	ta.drill(t.Context(), tg)
	require.Equal(t, 0.0, testutil.ToFloat64(m.drillSuccess.WithLabelValues("volume/d")))
}

func TestAgentPruneFailure(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil)
	ta.runner.fail = errors.New("locked")
	ta.prune(t.Context())
	require.Equal(t, 1.0, testutil.ToFloat64(ta.metrics.pruneRuns.WithLabelValues(resultFailure)))
	require.Zero(t, testutil.ToFloat64(ta.metrics.pruneLast))
	require.True(t, ta.logs.has(`"msg":"prune failed"`))
}

func TestMetricNames(t *testing.T) {
	m := NewMetrics()
	m.backupDone("volume/x", BackupResult{}, nil, time.Now(), time.Second)
	m.backupDone("volume/x", BackupResult{}, errors.New("x"), time.Now(), time.Second)
	m.forgetDone("volume/x", ForgetResult{})
	m.drillDone("volume/x", true, time.Now())
	m.pruneDone(PruneResult{RepoSize: 1}, nil, time.Now())
	m.pruneDone(PruneResult{}, errors.New("x"), time.Now())
	m.setConfigError("volume/y", true, true)
	m.targets.Set(1)
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), metricPrefix) {
			names = append(names, f.GetName())
		}
	}
	require.ElementsMatch(t, []string{
		"cairn_agent_last_success_timestamp_seconds", "cairn_agent_last_run_timestamp_seconds",
		"cairn_agent_last_duration_seconds", "cairn_agent_last_bytes_added", "cairn_agent_last_files",
		"cairn_agent_runs_total", "cairn_agent_snapshots", "cairn_agent_drill_success",
		"cairn_agent_drill_last_timestamp_seconds", "cairn_agent_forget_removed_total", "cairn_agent_config_error",
		"cairn_agent_targets", "cairn_agent_repository_size_bytes", "cairn_agent_prune_last_success_timestamp_seconds",
		"cairn_agent_prune_runs_total", "cairn_agent_config_errors_total", "cairn_agent_up",
	}, names)
}
