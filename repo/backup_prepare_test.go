package repo

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// prepSource is a source that must be prepared and tidied, and can fail or
// panic in its walk.
type prepSource struct {
	*testSource
	prepared, tidied int
	tidyCtxErr       error
	tidyErr          error
	walkErr          error
	panics           bool
	block            chan struct{} // the walk waits for ctx
}

func (p *prepSource) Prepare(ctx context.Context) (func(context.Context) error, error) {
	p.prepared++
	return func(ctx context.Context) error {
		p.tidied++
		p.tidyCtxErr = ctx.Err()
		return p.tidyErr
	}, nil
}

func (p *prepSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	switch {
	case p.panics:
		panic("walk panics")
	case p.walkErr != nil:
		return p.walkErr
	case p.block != nil:
		close(p.block)
		<-ctx.Done()
		return ctx.Err()
	}
	return p.testSource.Walk(ctx, fn)
}

func TestBackupTidiesOnEveryWayOut(t *testing.T) {
	r := smallChunks(t)
	ok := &prepSource{testSource: sampleSource()}
	_, err := r.Backup(context.Background(), ok, BackupOptions{Host: "h"})
	require.NoError(t, err)
	require.Equal(t, 1, ok.tidied)

	// A failing tidy-up (a container that would not start again) reaches
	// the caller, with the snapshot that was saved.
	badTidy := &prepSource{testSource: sampleSource(), tidyErr: errors.New("restart failed")}
	sn, err := r.Backup(context.Background(), badTidy, BackupOptions{Host: "h"})
	require.ErrorContains(t, err, "restart failed")
	require.NotNil(t, sn)

	failing := &prepSource{testSource: sampleSource(), walkErr: errors.New("boom")}
	_, err = r.Backup(context.Background(), failing, BackupOptions{Host: "h"})
	require.ErrorContains(t, err, "boom")
	require.Equal(t, 1, failing.tidied)

	panicking := &prepSource{testSource: sampleSource(), panics: true}
	require.Panics(t, func() { _, _ = r.Backup(context.Background(), panicking, BackupOptions{Host: "h"}) })
	require.Equal(t, 1, panicking.tidied)

	ctx, cancel := context.WithCancel(context.Background())
	blocked := &prepSource{testSource: sampleSource(), block: make(chan struct{})}
	go func() { <-blocked.block; cancel() }()
	_, err = r.Backup(ctx, blocked, BackupOptions{Host: "h"})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, blocked.tidied)
	require.NoError(t, blocked.tidyCtxErr, "tidy gets a live context")
}

// bigSource yields files until it is cancelled.
type cancelSource struct {
	*testSource
	cancel context.CancelFunc
	after  int
}

func (c *cancelSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	i := 0
	return c.testSource.Walk(ctx, func(e *source.Entry) error {
		if i++; i == c.after {
			c.cancel()
		}
		return fn(e)
	})
}

func TestBackupCancelLeavesRepositoryValid(t *testing.T) {
	be := mem.New()
	r := initRepo(t, be, Options{PackSize: 1 << 20})
	first, err := r.Backup(context.Background(), sampleSource(), BackupOptions{Host: "h"})
	require.NoError(t, err)

	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir}, nil)
	for i := range 40 {
		src.add(source.Entry{Path: string(rune('a'+i%26)) + string(rune('a'+i/26)), Type: source.TypeFile}, randomBytes(uint64(i), 256<<10))
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = r.Backup(ctx, &cancelSource{testSource: src, cancel: cancel, after: 30}, BackupOptions{Host: "h"})
	require.ErrorIs(t, err, context.Canceled)

	r2 := reopen(t, be)
	snaps, err := r2.Snapshots(context.Background())
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	m := newMemTarget()
	require.NoError(t, r2.Restore(context.Background(), first.ID, m, RestoreOptions{Verify: true}))
	_, err = r2.Backup(context.Background(), src, BackupOptions{Host: "h"})
	require.NoError(t, err)
}

func TestBackupBackendFailure(t *testing.T) {
	be := fault.New(mem.New())
	r := initRepo(t, be, Options{PackSize: 1 << 20})
	be.FailAfter(3)
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir}, nil)
	for i := range 20 {
		src.add(source.Entry{Path: string(rune('a' + i)), Type: source.TypeFile}, randomBytes(uint64(i), 256<<10))
	}
	_, err := r.Backup(context.Background(), src, BackupOptions{Host: "h"})
	require.ErrorIs(t, err, fault.ErrInjected)
}

var _ io.Reader
