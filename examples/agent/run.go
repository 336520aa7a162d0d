package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// trigger starts a run of t unless one is going; it does not block.
func (a *Agent) trigger(t *Target) {
	if !a.claim(t.ID) {
		a.log.Warn("run skipped: the target's previous run or forget is still going", "target", t.ID)
		return
	}
	a.runs.Go(func() {
		defer a.release(t.ID)
		a.backupRun(a.sched.ctx, t)
	})
}

// claim marks id busy; false if it was already.
func (a *Agent) claim(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy[id] {
		return false
	}
	a.busy[id] = true
	return true
}

func (a *Agent) release(id string) {
	a.mu.Lock()
	delete(a.busy, id)
	a.mu.Unlock()
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// slot waits for one of the MaxConcurrent run slots and returns its
// release.
func (a *Agent) slot(ctx context.Context) (func(), error) {
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// backupRun is one scheduled run of t: jitter, a slot, the backup, then
// forget when the backup succeeded.
func (a *Agent) backupRun(ctx context.Context, t *Target) {
	if err := wait(ctx, a.jitter()); err != nil {
		return
	}
	a.inSlot(ctx, func(ctx context.Context) {
		start := time.Now()
		var res BackupResult
		err := protect(func() (err error) { res, err = a.runner.Backup(ctx, t); return err })
		a.backupDone(ctx, t, res, err, start)
		if err == nil {
			a.forget(ctx, t)
		}
	})
}

// inSlot waits for a run slot and calls fn in it, with ctx bounded by
// RunTimeout; fn is not called if ctx ends first.
func (a *Agent) inSlot(ctx context.Context, fn func(context.Context)) {
	free, err := a.slot(ctx)
	if err != nil {
		return
	}
	defer free()
	ctx, cancel := a.runContext(ctx)
	defer cancel()
	fn(ctx)
}

// runContext bounds a run by RunTimeout.
func (a *Agent) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.set.RunTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.set.RunTimeout)
}

// protect calls fn and turns a panic into an error, so that no run
// brings the agent down.
func protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// backupDone logs, counts and posts a backup run.
func (a *Agent) backupDone(ctx context.Context, t *Target, res BackupResult, err error, start time.Time) {
	end := time.Now()
	d := end.Sub(start)
	a.metrics.backupDone(t.ID, res, err, end, d)
	snaps := strings.Join(res.Snapshots, ",")
	attrs := []any{"target", t.ID, "snapshot", snaps, "duration_seconds", d.Seconds(),
		"bytes_added", res.BytesAdded, "files", res.Files, "error", errString(err)}
	status := resultSuccess
	if err != nil {
		status = resultFailure
		a.log.Error("backup failed", attrs...)
		a.pingLater(a.sched.ctx) // is the repository the cause?
	} else {
		a.log.Info("backup done", attrs...)
		a.health.setRepo(nil)
	}
	a.notify(ctx, Event{Event: "backup", Target: t.ID, Status: status, Error: errString(err),
		Snapshot: snaps, Duration: d.Seconds(), BytesAdded: res.BytesAdded, Time: end.UTC().Format(time.RFC3339)})
}

// notify posts ev to the webhook if it wants it; the post outlives ctx's
// cancellation, so that a run cut short by shutdown is reported too.
func (a *Agent) notify(ctx context.Context, ev Event) {
	if !a.webhook.Wants(ev.Status) {
		return
	}
	if err := a.webhook.Post(context.WithoutCancel(ctx), ev); err != nil {
		a.log.Error("webhook failed", "event", ev.Event, "target", ev.Target, "error", err.Error())
	}
}
