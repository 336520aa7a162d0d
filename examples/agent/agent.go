package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Discoverer finds labelled Docker objects and says when they may have
// changed.
type Discoverer interface {
	// List returns every volume and container labelled cairn.backup.
	List(ctx context.Context) ([]Object, error)
	// Watch calls changed whenever the daemon reports an event that may
	// change the list, until ctx ends or the event stream fails.
	Watch(ctx context.Context, changed func()) error
}

// Settings tune the agent's loop. Schedules that are nil are off.
type Settings struct {
	DefaultSchedule string
	Forget, Prune   cron.Schedule
	Drill           cron.Schedule
	MaxConcurrent   int
	Jitter          time.Duration
	Resync          time.Duration
	RunTimeout      time.Duration
}

// watchRetry is the wait before following Docker events again after the
// stream failed.
const watchRetry = 5 * time.Second

// Agent backs up the targets its Discoverer finds, each on its schedule.
type Agent struct {
	set     Settings
	runner  Runner
	disc    Discoverer
	log     *slog.Logger
	metrics *Metrics
	health  *Health
	webhook *Webhook // nil: none

	// jitter returns the delay before a scheduled run; tests replace it.
	jitter func() time.Duration

	slots chan struct{} // one per run allowed at once
	runs  sync.WaitGroup
	bg    sync.WaitGroup // pings
	pings sync.Mutex     // held while a ping is going

	mu        sync.Mutex
	busy      map[string]bool   // targets with a run going
	cfgErrors map[string]string // target ID → its current config error

	sched *scheduler // set by Run
}

// NewAgent returns an agent; webhook may be nil.
func NewAgent(set Settings, runner Runner, disc Discoverer, log *slog.Logger, m *Metrics, h *Health, webhook *Webhook) *Agent {
	if set.MaxConcurrent < 1 {
		set.MaxConcurrent = 1
	}
	a := &Agent{set: set, runner: runner, disc: disc, log: log, metrics: m, health: h, webhook: webhook,
		slots: make(chan struct{}, set.MaxConcurrent), busy: map[string]bool{}, cfgErrors: map[string]string{}}
	a.jitter = func() time.Duration {
		if set.Jitter <= 0 {
			return 0
		}
		return rand.N(set.Jitter)
	}
	return a
}

// Run follows Docker and runs the schedules until ctx ends, then waits
// for the runs going, which ctx's end cancels, and returns.
func (a *Agent) Run(ctx context.Context) {
	a.sched = newScheduler(ctx, a.trigger) // before any goroutine that uses it
	a.health.setRunning(true)
	defer a.health.setRunning(false)
	var loops sync.WaitGroup
	kick := make(chan struct{}, 1)
	loops.Go(func() { a.watch(ctx, kick) })
	a.startJobs(ctx, &loops)
	a.pingLater(ctx)
	a.resyncLoop(ctx, kick)
	a.sched.stop()
	loops.Wait()
	a.runs.Wait()
	a.bg.Wait()
	a.log.Info("agent stopped")
}

// resyncLoop re-lists at once, after events and every Resync.
func (a *Agent) resyncLoop(ctx context.Context, kick <-chan struct{}) {
	every := a.set.Resync
	if every <= 0 {
		every = 5 * time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		a.resync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
			a.pingLater(ctx)
		}
	}
}

// watch follows Docker events, kicking a re-list for each, and reconnects
// after failures.
func (a *Agent) watch(ctx context.Context, kick chan<- struct{}) {
	changed := func() {
		select {
		case kick <- struct{}{}:
		default: // a re-list is due already
		}
	}
	for ctx.Err() == nil {
		err := a.disc.Watch(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("docker events stopped; reconnecting", "error", errString(err))
		a.health.setDocker(err)
		select {
		case <-ctx.Done():
		case <-time.After(watchRetry):
			changed() // events may have been missed meanwhile
		}
	}
}

// pingLater pings the repository in the background, so that a slow
// repository does not hold up following Docker; it skips a ping while one
// is going.
func (a *Agent) pingLater(ctx context.Context) {
	if !a.pings.TryLock() {
		return
	}
	a.bg.Go(func() {
		defer a.pings.Unlock()
		a.ping(ctx)
	})
}

// ping checks that the repository can be reached, for /healthz.
func (a *Agent) ping(ctx context.Context) {
	p, ok := a.runner.(Pinger)
	if !ok {
		a.health.setRepo(nil)
		return
	}
	err := p.Ping(ctx)
	if ctx.Err() != nil {
		return // says nothing about the repository
	}
	if err != nil {
		a.log.Error("repository unreachable", "error", err.Error())
	}
	a.health.setRepo(err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
