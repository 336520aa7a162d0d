package repo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// maxListedErrors bounds Summary.Errors; the rest are counted.
const maxListedErrors = 1000

// progress holds a backup's counters, warnings and progress reports.
type progress struct {
	progressFn func(Progress)
	warnFn     func(string, error)
	interval   time.Duration
	start      time.Time

	filesDone, bytesSkipped, bytesRead, dirs atomic.Uint64
	filesNew, filesChanged, filesUnchanged   atomic.Uint64
	totalFiles, totalBytes, errCount         atomic.Uint64
	current                                  atomic.Pointer[string]
	bytesNew                                 func() uint64

	mu     sync.Mutex // serializes callbacks; guards errors
	errors []string
}

func (p *progress) init(opts BackupOptions) {
	p.progressFn, p.warnFn, p.interval = opts.Progress, opts.Warn, opts.ProgressInterval
	p.start = time.Now()
}

// warn records a file that could not be backed up as it is.
func (p *progress) warn(path string, err error) {
	p.errCount.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) < maxListedErrors {
		p.errors = append(p.errors, fmt.Sprintf("%s: %v", path, err))
	}
	if p.warnFn != nil {
		p.warnFn(path, err)
	}
}

func (p *progress) errorList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.errors
	if n := p.errCount.Load(); n > uint64(len(list)) {
		list = append(list, fmt.Sprintf("… and %d more", n-uint64(len(list))))
	}
	return list
}

// startProgress reports progress every interval and counts the source's
// totals if it can; the returned function stops both.
func (a *archiver) startProgress(ctx context.Context, src source.Source) func() {
	a.bytesNew = func() uint64 { return a.w.Stats().Bytes }
	if a.progressFn == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if c, ok := src.(source.Counter); ok {
		wg.Go(func() {
			if files, bytes, err := c.Count(ctx); err == nil {
				a.totalFiles.Store(files)
				a.totalBytes.Store(bytes)
			}
		})
	}
	stopTick := tick(ctx, a.interval, true, func() { a.report(false) })
	return func() { stopTick(); cancel(); wg.Wait() }
}

// report calls the progress callback once.
func (a *archiver) report(done bool) {
	if a.progressFn == nil {
		return
	}
	pr := Progress{
		Files: a.filesDone.Load(), Dirs: a.dirs.Load(), Bytes: a.bytesSkipped.Load() + a.bytesRead.Load(),
		BytesRead: a.bytesRead.Load(), BytesNew: a.bytesNew(), Errors: a.errCount.Load(),
		TotalFiles: a.totalFiles.Load(), TotalBytes: a.totalBytes.Load(),
		Elapsed: time.Since(a.start), Done: done,
	}
	if c := a.current.Load(); c != nil && !done {
		pr.Current = *c
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.progressFn(pr)
}
