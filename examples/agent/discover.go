package main

import (
	"context"
	"errors"
	"maps"
	"slices"
)

// resync lists the labelled objects, reports configuration errors and
// schedules the valid targets. When listing fails the schedules stay as
// they are.
func (a *Agent) resync(ctx context.Context) {
	objs, err := a.disc.List(ctx)
	if ctx.Err() != nil {
		return
	}
	a.health.setDocker(err)
	if err != nil {
		a.log.Error("listing docker objects failed; keeping the schedules", "error", err.Error())
		return
	}
	targets, bad := a.parseAll(objs)
	a.reportConfigErrors(bad)
	res := a.sched.sync(targets)
	a.metrics.targets.Set(float64(len(targets)))
	for _, id := range res.Added {
		t := targets[id]
		a.log.Info("target scheduled", "target", id, "schedule", describe(t.ScheduleSpec, t.Schedule))
	}
	for _, id := range res.Changed {
		t := targets[id]
		a.log.Info("target changed", "target", id, "schedule", describe(t.ScheduleSpec, t.Schedule))
	}
	for _, id := range res.Removed {
		a.log.Info("target removed", "target", id)
	}
}

// parseAll turns objects into targets by ID and config errors by ID.
func (a *Agent) parseAll(objs []Object) (map[string]*Target, map[string]string) {
	targets, bad := map[string]*Target{}, map[string]string{}
	for _, obj := range objs {
		t, err := ParseTarget(obj, a.set.DefaultSchedule)
		var ce *ConfigError
		switch {
		case errors.As(err, &ce):
			bad[ce.Target] = ce.Error()
		case err != nil:
			bad[targetKindID(obj)] = err.Error() // not expected: ParseTarget's errors are *ConfigError
		case t != nil:
			targets[t.ID] = t
		}
	}
	return targets, bad
}

// reportConfigErrors logs and counts new or changed errors, and clears
// the metric of targets fixed or gone.
func (a *Agent) reportConfigErrors(bad map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(a.cfgErrors)) {
		if _, still := bad[id]; !still {
			a.metrics.setConfigError(id, false, false)
			a.log.Info("config error gone", "target", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bad)) {
		isNew := a.cfgErrors[id] != bad[id]
		a.metrics.setConfigError(id, true, isNew)
		if isNew {
			a.log.Error("config error: target skipped", "target", id, "error", bad[id])
		}
	}
	a.cfgErrors = bad
}
