package repo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
)

func TestLockExclusion(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	other := reopen(t, be) // another process

	s1, err := r.Lock(ctx, "backup", false)
	require.NoError(t, err)
	s2, err := other.Lock(ctx, "restore", false)
	require.NoError(t, err, "shared locks coexist")
	x, err := r.Lock(ctx, "prune", true)
	require.NoError(t, err, "an exclusive lock does not wait for shared ones")

	_, err = other.Lock(ctx, "check", true)
	require.ErrorIs(t, err, ErrLocked)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "prune", le.Holder.Operation)
	require.Equal(t, os.Getpid(), le.Holder.PID)
	host, _ := os.Hostname()
	require.Equal(t, host, le.Holder.Host)
	require.Contains(t, err.Error(), "prune on "+host)
	require.Len(t, listFiles(t, be, backend.LockFile), 3, "the refused lock removed its file")

	_, err = other.Lock(ctx, "backup", false)
	require.NoError(t, err, "shared locks never wait for an exclusive one")

	require.NoError(t, x.Unlock(ctx))
	y, err := other.Lock(ctx, "check", true)
	require.NoError(t, err)
	for _, l := range []*Lock{s1, s2, y} {
		require.NoError(t, l.Unlock(ctx))
	}
	require.NoError(t, y.Unlock(ctx), "twice is harmless")
	require.Len(t, listFiles(t, be, backend.LockFile), 1, "only the shared lock never unlocked above")
}

func TestLockRefresh(t *testing.T) {
	be := mem.New()
	r := initRepo(t, be, Options{LockStale: 1200 * time.Millisecond})
	ctx := t.Context()
	l, err := r.Lock(ctx, "backup", false)
	require.NoError(t, err)
	first := l.Info()
	require.Equal(t, 1200*time.Millisecond, first.StaleAfter)
	time.Sleep(time.Second)
	now := l.Info()
	require.NotEqual(t, first.ID, now.ID, "refreshed: a new file")
	require.True(t, now.Time.After(first.Time))
	require.Equal(t, first.Since, now.Since)
	require.NoError(t, l.Valid())
	locks, err := r.Locks(ctx)
	require.NoError(t, err)
	require.Len(t, locks, 1, "the old file is gone")
	require.Equal(t, now.ID, locks[0].ID)
	require.False(t, locks[0].Stale(time.Now()))
	require.NoError(t, l.Unlock(ctx))
	require.Empty(t, listFiles(t, be, backend.LockFile))
}

// TestLockLost: when the lock files cannot be written any more, the
// operation holding the lock is cancelled before others may take the lock
// for stale, with ErrLockLost as the cause.
func TestLockLost(t *testing.T) {
	fb := fault.New(mem.New())
	r := initRepo(t, fb, Options{LockStale: 1200 * time.Millisecond})
	var held *Lock
	start := time.Now()
	err := r.withLock(t.Context(), "backup", false, func(ctx context.Context, l *Lock) error {
		held = l
		fb.FailOn(func(op fault.Op, h backend.Handle) error {
			if op == fault.OpSave && h.Type == backend.LockFile {
				return fault.ErrInjected
			}
			return nil
		})
		<-ctx.Done()
		return ctx.Err()
	})
	require.ErrorIs(t, err, ErrLockLost)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 1200*time.Millisecond, "before the lock turns stale")
	require.ErrorIs(t, held.Valid(), ErrLockLost)
	require.Contains(t, held.Valid().Error(), "injected")
}

func TestLockStale(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	host, _ := os.Hostname()
	// A process of this host that has exited.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	old := time.Now().Add(-time.Hour).UTC()
	for _, info := range []LockInfo{
		{Operation: "old", Host: "elsewhere", PID: 1, Since: old, Time: old, StaleAfter: 30 * time.Minute},
		{Operation: "dead", Host: host, PID: cmd.Process.Pid, Exclusive: true, Since: time.Now(), Time: time.Now(), StaleAfter: time.Hour},
		{Operation: "alive", Host: "elsewhere", PID: 1, Since: old, Time: time.Now(), StaleAfter: time.Hour},
	} {
		_, err := r.saveLock(ctx, info)
		require.NoError(t, err)
	}
	locks, err := r.Locks(ctx)
	require.NoError(t, err)
	stale := map[string]bool{}
	for _, l := range locks {
		stale[l.Operation] = l.Stale(time.Now())
	}
	require.Equal(t, map[string]bool{"old": true, "dead": true, "alive": false}, stale)

	x, err := r.Lock(ctx, "prune", true)
	require.NoError(t, err, "a dead process's exclusive lock does not count")
	require.NoError(t, x.Unlock(ctx))

	removed, err := r.RemoveLocks(ctx, false)
	require.NoError(t, err)
	require.Len(t, removed, 2)
	require.Len(t, listFiles(t, be, backend.LockFile), 1)
	removed, err = r.RemoveLocks(ctx, true)
	require.NoError(t, err)
	require.Equal(t, "alive", removed[0].Operation)
	require.Empty(t, listFiles(t, be, backend.LockFile))
}

func TestLockUnreadable(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	_, err := saveFile(ctx, be, backend.LockFile, []byte("garbage"))
	require.NoError(t, err)
	_, err = r.Locks(ctx)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = r.Lock(ctx, "prune", true)
	require.ErrorIs(t, err, ErrCorrupt, "an exclusive lock cannot tell whether it is alone")
	removed, err := r.RemoveLocks(ctx, false)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	require.Equal(t, "unreadable", removed[0].Operation)
}

// TestBackupLocks: a backup holds a shared lock while it runs, does not wait
// for an exclusive one and leaves no lock file.
func TestBackupLocks(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	x, err := r.Lock(ctx, "prune", true)
	require.NoError(t, err)
	var during []LockInfo
	src := walkHook{sampleSource(), func() {
		var lerr error
		during, lerr = r.Locks(ctx)
		require.NoError(t, lerr)
	}}
	sn, err := r.Backup(ctx, src, BackupOptions{})
	require.NoError(t, err)
	require.Len(t, during, 2)
	require.NoError(t, x.Unlock(ctx))
	require.Empty(t, listFiles(t, be, backend.LockFile))

	require.NoError(t, r.Restore(ctx, sn.ID, newMemTarget(), RestoreOptions{}))
	require.Empty(t, listFiles(t, be, backend.LockFile))
}

// TestBackupNoLock: a read-only repository can be restored from with
// NoLock.
func TestBackupNoLock(t *testing.T) {
	fb := fault.New(mem.New())
	r := initRepo(t, fb, Options{})
	sn, err := r.Backup(t.Context(), sampleSource(), BackupOptions{})
	require.NoError(t, err)
	readOnly := errors.New("read-only file system")
	fb.FailOn(func(op fault.Op, h backend.Handle) error {
		if op == fault.OpSave || op == fault.OpRemove {
			return readOnly
		}
		return nil
	})
	err = r.Restore(t.Context(), sn.ID, newMemTarget(), RestoreOptions{})
	require.ErrorIs(t, err, readOnly)
	ro, err := Open(t.Context(), fb, testPassword, OpenOptions{Options: Options{NoLock: true}})
	require.NoError(t, err)
	require.NoError(t, ro.Restore(t.Context(), sn.ID, newMemTarget(), RestoreOptions{}))
}

// walkHook calls fn when the walk starts.
type walkHook struct {
	*testSource
	fn func()
}

func (w walkHook) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	w.fn()
	return w.testSource.Walk(ctx, fn)
}

// TestRefreshIndex: a backup reads the index files other processes wrote
// since this one opened the repository, and stops deduplicating against
// packs that only files since superseded named.
func TestRefreshIndex(t *testing.T) {
	r, be := newMemRepo(t)
	ctx := t.Context()
	other := reopen(t, be)
	_, err := other.Backup(ctx, sampleSource(), BackupOptions{})
	require.NoError(t, err)
	sn, err := r.Backup(ctx, sampleSource(), BackupOptions{NoParent: true})
	require.NoError(t, err)
	require.Zero(t, sn.Summary.BytesAdded, "the other process's blobs are known")

	// A prune elsewhere rewrites the index without one pack.
	var files []*index.File
	ids, err := listIDs(ctx, be, backend.IndexFile)
	require.NoError(t, err)
	var all []index.Pack
	for _, id := range ids {
		f, err := r.loadIndexFile(ctx, id)
		require.NoError(t, err)
		files = append(files, f)
		all = append(all, f.Packs...)
	}
	require.NotEmpty(t, files)
	gone := all[0]
	merged := &index.File{Created: time.Now(), Supersedes: ids, Packs: all[1:]}
	data, err := merged.Encode(r.key)
	require.NoError(t, err)
	_, err = saveFile(ctx, be, backend.IndexFile, data)
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, be.Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: id.String()}))
	}

	blob := blobHandle(gone.Type, gone.Blobs[0].ID)
	loc, ok := r.idx.Lookup(blob)
	require.True(t, ok)
	require.False(t, loc.Condemned)
	require.NoError(t, r.refreshIndex(ctx))
	loc, ok = r.idx.Lookup(blob)
	require.True(t, ok, "still readable while the pack exists")
	require.True(t, loc.Condemned, "but no longer deduplicated against")
	kept := all[1]
	loc, ok = r.idx.Lookup(blobHandle(kept.Type, kept.Blobs[0].ID))
	require.True(t, ok)
	require.False(t, loc.Condemned)
	require.Len(t, r.indexFiles, 1)
}
