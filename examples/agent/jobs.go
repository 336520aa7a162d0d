package main

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// startJobs runs the forget, prune and drill schedules that are on.
func (a *Agent) startJobs(ctx context.Context, wg *sync.WaitGroup) {
	jobs := []struct {
		name  string
		sched cron.Schedule
		run   func(context.Context)
	}{
		{"forget", a.set.Forget, a.forgetAll},
		{"prune", a.set.Prune, a.prune},
		{"drill", a.set.Drill, a.drillAll},
	}
	for _, j := range jobs {
		if j.sched == nil {
			a.log.Info("job off", "job", j.name)
			continue
		}
		a.log.Info("job scheduled", "job", j.name, "next", j.sched.Next(time.Now()).UTC().Format(time.RFC3339))
		var mu sync.Mutex // one run of the job at a time
		wg.Go(func() {
			scheduleLoop(ctx, j.sched, func() {
				if !mu.TryLock() {
					a.log.Warn("job skipped: the previous one is still going", "job", j.name)
					return
				}
				a.runs.Go(func() { defer mu.Unlock(); j.run(ctx) })
			})
		})
	}
}

// sortedTargets returns the scheduled targets by ID.
func (a *Agent) sortedTargets() []*Target {
	list := a.sched.targets()
	slices.SortFunc(list, func(x, y *Target) int { return cmp.Compare(x.ID, y.ID) })
	return list
}

// forget applies t's retention policy within a run.
func (a *Agent) forget(ctx context.Context, t *Target) {
	var res ForgetResult
	err := protect(func() (err error) { res, err = a.runner.Forget(ctx, t); return err })
	if err != nil {
		a.log.Error("forget failed", "target", t.ID, "error", err.Error())
		return
	}
	a.metrics.forgetDone(t.ID, res)
	a.log.Info("forget done", "target", t.ID, "removed", res.Removed, "snapshots", res.Remaining)
}

// forgetAll applies every target's policy, skipping those with a run
// going (which forgets when it ends).
func (a *Agent) forgetAll(ctx context.Context) {
	for _, t := range a.sortedTargets() {
		if ctx.Err() != nil {
			return
		}
		if !a.claim(t.ID) {
			continue
		}
		rctx, cancel := a.runContext(ctx)
		a.forget(rctx, t)
		cancel()
		a.release(t.ID)
	}
}

// prune runs a prune. It takes no run slot: it never blocks backups.
func (a *Agent) prune(ctx context.Context) {
	ctx, cancel := a.runContext(ctx)
	defer cancel()
	start := time.Now()
	var res PruneResult
	err := protect(func() (err error) { res, err = a.runner.Prune(ctx); return err })
	end := time.Now()
	a.metrics.pruneDone(res, err, end)
	status := resultSuccess
	if err != nil {
		status = resultFailure
		a.log.Error("prune failed", "duration_seconds", end.Sub(start).Seconds(), "error", err.Error())
	} else {
		a.log.Info("prune done", "duration_seconds", end.Sub(start).Seconds(),
			"packs_deleted", res.PacksDeleted, "bytes_deleted", res.BytesDeleted, "repository_size_bytes", res.RepoSize)
	}
	a.notify(ctx, Event{Event: "prune", Status: status, Error: errString(err),
		Duration: end.Sub(start).Seconds(), Time: end.UTC().Format(time.RFC3339)})
}

// drillAll drills every target in turn, each in a run slot.
func (a *Agent) drillAll(ctx context.Context) {
	for _, t := range a.sortedTargets() {
		if ctx.Err() != nil {
			return
		}
		a.drill(ctx, t)
	}
}

// drill restores a sample of t's newest snapshot, in a run slot.
func (a *Agent) drill(ctx context.Context, t *Target) {
	a.inSlot(ctx, func(ctx context.Context) { a.drillNow(ctx, t) })
}

// drillNow runs a drill and records the outcome.
func (a *Agent) drillNow(ctx context.Context, t *Target) {
	start := time.Now()
	var res DrillResult
	err := protect(func() (err error) { res, err = a.runner.Drill(ctx, t); return err })
	if errors.Is(err, ErrNoSnapshot) {
		a.log.Info("drill skipped: no snapshot yet", "target", t.ID)
		return
	}
	if err == nil && !res.OK {
		err = errors.New("restored files differ from the snapshot: " + res.Problem)
	}
	end := time.Now()
	a.metrics.drillDone(t.ID, err == nil, end)
	attrs := []any{"target", t.ID, "snapshot", res.Snapshot, "files", res.Files, "bytes", res.Bytes,
		"duration_seconds", end.Sub(start).Seconds(), "error", errString(err)}
	status := resultSuccess
	if err != nil {
		status = resultFailure
		a.log.Error("drill failed", attrs...)
	} else {
		a.log.Info("drill done", attrs...)
	}
	a.notify(ctx, Event{Event: "drill", Target: t.ID, Status: status, Error: errString(err),
		Snapshot: res.Snapshot, Duration: end.Sub(start).Seconds(), Time: end.UTC().Format(time.RFC3339)})
}
