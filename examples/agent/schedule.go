package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleOff disables a schedule given by a flag.
const scheduleOff = "off"

// parseSchedule parses a cron expression of five fields or a descriptor
// (@daily, @every 30s) as cron.ParseStandard does, and refuses one that
// never fires.
func parseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if s.Next(time.Now()).IsZero() {
		return nil, errors.New("never fires")
	}
	return s, nil
}

// parseOptionalSchedule is parseSchedule that takes "off" for nil.
func parseOptionalSchedule(spec string) (cron.Schedule, error) {
	if spec == scheduleOff {
		return nil, nil
	}
	return parseSchedule(spec)
}

// scheduleLoop calls fn at every time sched names until ctx ends. fn must
// not block for long: a slow job is started by it, not run in it, so that
// the loop sees the next due time and the job can skip it.
func scheduleLoop(ctx context.Context, sched cron.Schedule, fn func()) {
	for {
		now := time.Now()
		next := sched.Next(now)
		if next.IsZero() {
			return
		}
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
			fn()
		}
	}
}

// scheduler keeps one schedule loop per target and replaces the set when
// discovery finds another.
type scheduler struct {
	ctx     context.Context
	trigger func(*Target) // starts a run of the target, without blocking

	mu      sync.Mutex
	entries map[string]*entry
	wg      sync.WaitGroup
}

// entry is one target's schedule loop.
type entry struct {
	target *Target
	cancel context.CancelFunc
}

func newScheduler(ctx context.Context, trigger func(*Target)) *scheduler {
	return &scheduler{ctx: ctx, trigger: trigger, entries: map[string]*entry{}}
}

// syncResult says what sync changed, by target ID.
type syncResult struct {
	Added, Changed, Removed []string
}

// sync schedules exactly targets: new ones are added, those whose
// fingerprint changed are scheduled anew, and those missing are dropped.
// A run already going is not affected.
func (s *scheduler) sync(targets map[string]*Target) syncResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res syncResult
	for id, e := range s.entries {
		if _, ok := targets[id]; !ok {
			e.cancel()
			delete(s.entries, id)
			res.Removed = append(res.Removed, id)
		}
	}
	for id, t := range targets {
		old, ok := s.entries[id]
		switch {
		case ok && old.target.Fingerprint == t.Fingerprint:
			continue
		case ok:
			old.cancel()
			res.Changed = append(res.Changed, id)
		default:
			res.Added = append(res.Added, id)
		}
		s.start(t)
	}
	return res
}

// start runs t's schedule loop; s.mu is held.
func (s *scheduler) start(t *Target) {
	ctx, cancel := context.WithCancel(s.ctx)
	s.entries[t.ID] = &entry{target: t, cancel: cancel}
	s.wg.Go(func() { scheduleLoop(ctx, t.Schedule, func() { s.trigger(t) }) })
}

// targets returns the scheduled targets.
func (s *scheduler) targets() []*Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*Target, 0, len(s.entries))
	for _, e := range s.entries {
		list = append(list, e.target)
	}
	return list
}

// stop ends every loop and waits for them.
func (s *scheduler) stop() {
	s.mu.Lock()
	for _, e := range s.entries {
		e.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// describe is a schedule for logs.
func describe(spec string, s cron.Schedule) string {
	if s == nil {
		return scheduleOff
	}
	return fmt.Sprintf("%s (next %s)", spec, s.Next(time.Now()).UTC().Format(time.RFC3339))
}
