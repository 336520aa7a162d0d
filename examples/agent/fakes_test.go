package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRunner counts calls and runs at once, and can block, fail or panic.
type fakeRunner struct {
	mu        sync.Mutex
	backups   map[string]int
	forgets   map[string]int
	active    map[string]int // backups going, by target
	total     int            // backups going in all
	maxTotal  int
	maxTarget int
	started   []time.Time

	release  chan struct{} // if set, Backup waits for it (or ctx)
	fail     error
	panicMsg string
	cancels  int // backups that ended by their context
	drill    DrillResult
	drillErr error
	drills   int
	prunes   int
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{backups: map[string]int{}, forgets: map[string]int{}, active: map[string]int{},
		drill: DrillResult{Snapshot: "abc", OK: true}}
}

func (f *fakeRunner) Backup(ctx context.Context, t *Target) (BackupResult, error) {
	f.mu.Lock()
	f.backups[t.ID]++
	f.active[t.ID]++
	f.total++
	f.maxTotal = max(f.maxTotal, f.total)
	f.maxTarget = max(f.maxTarget, f.active[t.ID])
	f.started = append(f.started, time.Now())
	release, fail, msg := f.release, f.fail, f.panicMsg
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active[t.ID]--
		f.total--
		f.mu.Unlock()
	}()
	if msg != "" {
		panic(msg)
	}
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			f.mu.Lock()
			f.cancels++
			f.mu.Unlock()
			return BackupResult{}, ctx.Err()
		}
	}
	if fail != nil {
		return BackupResult{}, fail
	}
	return BackupResult{Snapshots: []string{"snap-" + t.Name}, BytesAdded: 100, Files: 3, RepoSize: 4096}, nil
}

func (f *fakeRunner) Forget(_ context.Context, t *Target) (ForgetResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgets[t.ID]++
	return ForgetResult{Removed: 1, Remaining: f.backups[t.ID]}, nil
}

func (f *fakeRunner) Drill(context.Context, *Target) (DrillResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drills++
	return f.drill, f.drillErr
}

func (f *fakeRunner) Prune(context.Context) (PruneResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prunes++
	return PruneResult{PacksDeleted: 2, RepoSize: 2048}, f.fail
}

// count reads a field under the lock.
func (f *fakeRunner) count(fn func(f *fakeRunner) int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn(f)
}

// fakeDisc returns a settable list and fires events on demand.
type fakeDisc struct {
	mu      sync.Mutex
	objs    []Object
	listErr error
	lists   int
	events  chan struct{}
}

func newFakeDisc(objs ...Object) *fakeDisc { return &fakeDisc{objs: objs, events: make(chan struct{})} }

func (d *fakeDisc) set(err error, objs ...Object) {
	d.mu.Lock()
	d.objs, d.listErr = objs, err
	d.mu.Unlock()
}

func (d *fakeDisc) List(context.Context) ([]Object, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lists++
	return append([]Object(nil), d.objs...), d.listErr
}

func (d *fakeDisc) Watch(ctx context.Context, changed func()) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.events:
			changed()
		}
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) has(s string) bool { return strings.Contains(b.String(), s) }

// testAgent is an agent on fakes, not yet running.
type testAgent struct {
	*Agent
	runner *fakeRunner
	disc   *fakeDisc
	logs   *syncBuffer
}

// newTestAgent returns an agent without jitter whose settings mod may
// change.
func newTestAgent(t *testing.T, mod func(*Settings), objs ...Object) *testAgent {
	t.Helper()
	set := Settings{DefaultSchedule: "@every 1s", MaxConcurrent: 2, Resync: time.Hour, RunTimeout: time.Minute}
	if mod != nil {
		mod(&set)
	}
	ta := &testAgent{runner: newFakeRunner(), disc: newFakeDisc(objs...), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(ta.logs, nil))
	ta.Agent = NewAgent(set, ta.runner, ta.disc, log, NewMetrics(), NewHealth(), nil)
	ta.jitter = func() time.Duration { return 0 }
	return ta
}

// start runs the agent until the test ends, or until the returned stop.
func (ta *testAgent) start(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ta.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("agent did not stop within 10 s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func labelled(kv ...string) map[string]string {
	m := map[string]string{"cairn.backup": "true"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
