package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Locks tell processes that share a repository what the others are doing.
// Backups and restores hold shared locks, which nothing waits for; prune,
// check and index rebuilds hold exclusive locks, which exclude each other
// (not shared ones). Prune reads the shared locks to learn which backups
// may still depend on packs it has condemned (FORMAT.md §11).
//
// A lock file is immutable like every object: the holder refreshes it by
// writing a new file with a new time and removing the old one. Each file
// records how long after its time it turns stale; the holder refreshes six
// times in that span and stops its work (ErrLockLost) when it has not
// managed to refresh for half of it, leaving the other half to absorb
// clock differences between hosts.

// ErrLocked is wrapped by the error of an exclusive operation that found
// another holding its lock; the error is a *LockedError naming the holder.
var ErrLocked = errors.New("repository is locked")

// ErrLockLost is the cause of cancelling an operation whose lock could not
// be refreshed in time: other processes may soon take it for stale.
var ErrLockLost = errors.New("repository lock lost: it could not be refreshed")

// DefaultLockStale is how long after its last refresh a lock is stale
// unless Options.LockStale says otherwise.
const DefaultLockStale = 30 * time.Minute

// LockInfo is the content of a lock file.
type LockInfo struct {
	ID         ID            `json:"-"`
	Exclusive  bool          `json:"exclusive"`
	Operation  string        `json:"operation"` // "backup", "prune", …
	Host       string        `json:"host"`
	PID        int           `json:"pid"`
	Username   string        `json:"username,omitempty"`
	Since      time.Time     `json:"since"` // when the lock was first taken
	Time       time.Time     `json:"time"`  // when this file was written
	StaleAfter time.Duration `json:"stale_after"`
}

// Stale reports whether the holder must be taken for gone at now: its last
// refresh is older than its stale time, or it ran on this host under a
// process ID that no longer exists.
func (l LockInfo) Stale(now time.Time) bool {
	if now.Sub(l.Time) > l.StaleAfter {
		return true
	}
	if host, err := os.Hostname(); err == nil && host == l.Host && l.PID > 0 {
		return syscall.Kill(l.PID, 0) == syscall.ESRCH
	}
	return false
}

func (l LockInfo) String() string {
	kind := "shared"
	if l.Exclusive {
		kind = "exclusive"
	}
	return fmt.Sprintf("%s lock %s by %s on %s (pid %d, user %s) since %s, refreshed %s",
		kind, l.ID.Short(), l.Operation, l.Host, l.PID, l.Username,
		l.Since.Format(time.RFC3339), l.Time.Format(time.RFC3339))
}

// LockedError says who holds the lock an operation needs.
type LockedError struct {
	Holder LockInfo
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("repository is locked by %s on %s (pid %d) since %s (lock %s; remove it with unlock if that process is gone)",
		e.Holder.Operation, e.Holder.Host, e.Holder.PID, e.Holder.Since.Format(time.RFC3339), e.Holder.ID.Short())
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a lock held by this process, refreshed until Unlock.
type Lock struct {
	r      *Repository
	lost   func(error) // cancels the operation holding the lock
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	info   LockInfo
	failed error // the last refresh failure, while it lasts
}

// Lock takes a lock for operation op. A shared lock is always granted. An
// exclusive one fails with a *LockedError (wrapping ErrLocked) when another
// process holds an exclusive lock that is not stale. The lock is refreshed
// in the background until Unlock; if that fails for half its stale time,
// the lock counts as lost and Valid says so.
func (r *Repository) Lock(ctx context.Context, op string, exclusive bool) (*Lock, error) {
	return r.lock(ctx, op, exclusive, func(error) {})
}

func (r *Repository) lock(ctx context.Context, op string, exclusive bool, lost func(error)) (*Lock, error) {
	now := time.Now().UTC()
	info := LockInfo{Exclusive: exclusive, Operation: op, PID: os.Getpid(), Since: now, Time: now,
		StaleAfter: r.opts.LockStale}
	info.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		info.Username = u.Username
	}
	id, err := r.saveLock(ctx, info)
	if err != nil {
		return nil, err
	}
	info.ID = id
	l := &Lock{r: r, lost: lost, stop: make(chan struct{}), done: make(chan struct{}), info: info}
	if exclusive {
		if err := l.exclude(ctx); err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			return nil, errors.Join(err, r.removeLock(rctx, id))
		}
	}
	go l.refresh()
	return l, nil
}

// exclude fails if another exclusive lock is live. Two processes taking
// exclusive locks at once may both fail; never both succeed.
func (l *Lock) exclude(ctx context.Context) error {
	locks, err := l.r.Locks(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, o := range locks {
		if o.ID != l.info.ID && o.Exclusive && !o.Stale(now) {
			return &LockedError{Holder: o}
		}
	}
	return nil
}

// Info returns the lock as last written.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Valid returns ErrLockLost (wrapped) when the lock has not been refreshed
// for half its stale time, so that others may soon take it for stale: an
// operation must not commit anything then.
func (l *Lock) Valid() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Wall clock, not monotonic: a process suspended for an hour must see
	// that the hour passed.
	age := time.Now().Round(0).Sub(l.info.Time.Round(0))
	if age >= l.info.StaleAfter/2 {
		return fmt.Errorf("%w: last refreshed %v ago (%v)", ErrLockLost, age.Round(time.Second), l.failed)
	}
	return nil
}

// refresh rewrites the lock file six times per stale period until Unlock.
func (l *Lock) refresh() {
	defer close(l.done)
	every := l.info.StaleAfter / 6
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		err := l.refreshOnce()
		l.mu.Lock()
		l.failed = err
		l.mu.Unlock()
		if verr := l.Valid(); verr != nil {
			l.lost(verr)
		}
	}
}

func (l *Lock) refreshOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.info.StaleAfter/6)
	defer cancel()
	l.mu.Lock()
	info := l.info
	l.mu.Unlock()
	info.Time = time.Now().UTC()
	id, err := l.r.saveLock(ctx, info)
	if err != nil {
		return err
	}
	old := info.ID
	info.ID = id
	l.mu.Lock()
	l.info = info
	l.mu.Unlock()
	// A leftover old file only makes the lock look older than it is.
	_ = l.r.removeLock(ctx, old)
	return nil
}

// Unlock stops refreshing and removes the lock file.
func (l *Lock) Unlock(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	<-l.done
	return l.r.removeLock(ctx, l.Info().ID)
}

// withLock runs fn holding a lock; fn's context is cancelled with
// ErrLockLost as the cause if the lock is lost. With Options.NoLock, fn
// runs without one and gets a nil lock.
func (r *Repository) withLock(ctx context.Context, op string, exclusive bool,
	fn func(context.Context, *Lock) error) (err error) {
	if r.opts.NoLock {
		return fn(ctx, nil)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l, err := r.lock(ctx, op, exclusive, cancel)
	if err != nil {
		return err
	}
	defer func() {
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer ucancel()
		if uerr := l.Unlock(uctx); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unlock: %w", uerr))
		}
	}()
	err = fn(ctx, l)
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrLockLost) {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}

// validLock is Valid for a lock that may be nil (Options.NoLock).
func validLock(l *Lock) error {
	if l == nil {
		return nil
	}
	return l.Valid()
}

func lockHandle(id ID) backend.Handle {
	return backend.Handle{Type: backend.LockFile, Name: id.String()}
}

func (r *Repository) saveLock(ctx context.Context, info LockInfo) (ID, error) {
	payload, err := json.Marshal(info)
	if err != nil {
		return ID{}, err
	}
	return saveFile(ctx, r.be, backend.LockFile, envelope.Seal(r.key, envelope.Lock, payload, r.level))
}

func (r *Repository) removeLock(ctx context.Context, id ID) error {
	err := r.be.Remove(ctx, lockHandle(id))
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return &FileError{File: lockHandle(id), Op: "remove", Err: err}
	}
	return nil
}

// loadLock reads one lock file.
func (r *Repository) loadLock(ctx context.Context, id ID) (LockInfo, error) {
	data, err := loadFile(ctx, r.be, backend.LockFile, id)
	if err != nil {
		return LockInfo{}, err
	}
	payload, err := envelope.Open(r.key, envelope.Lock, data, 1<<20)
	if err != nil {
		return LockInfo{}, &FileError{File: lockHandle(id), Op: "decode", Err: err}
	}
	info, err := decodeLock(payload)
	if err != nil {
		return LockInfo{}, &FileError{File: lockHandle(id), Op: "decode", Err: err}
	}
	info.ID = id
	return info, nil
}

// decodeLock parses an authenticated lock payload.
func decodeLock(payload []byte) (LockInfo, error) {
	var info LockInfo
	if err := json.Unmarshal(payload, &info); err != nil {
		return LockInfo{}, fmt.Errorf("bad lock: %v: %w", err, ErrCorrupt)
	}
	if info.Time.IsZero() || info.Since.IsZero() || info.StaleAfter <= 0 {
		return LockInfo{}, fmt.Errorf("bad lock: no time, start or stale time: %w", ErrCorrupt)
	}
	return info, nil
}

// Locks lists the lock files, skipping those removed while listing. A lock
// file that cannot be read is an error: it may be a holder's.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	ids, err := listIDs(ctx, r.be, backend.LockFile)
	if err != nil {
		return nil, err
	}
	var out []LockInfo
	for _, id := range ids {
		info, err := r.loadLock(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			continue // unlocked or refreshed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// RemoveLocks removes stale lock files, or with all every lock file (only
// when no other process uses the repository), and returns those removed.
// Unreadable lock files are removed too.
func (r *Repository) RemoveLocks(ctx context.Context, all bool) ([]LockInfo, error) {
	ids, err := listIDs(ctx, r.be, backend.LockFile)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var removed []LockInfo
	for _, id := range ids {
		info, err := r.loadLock(ctx, id)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			continue
		case err != nil:
			info = LockInfo{ID: id, Operation: "unreadable"}
		case !all && !info.Stale(now):
			continue
		}
		if err := r.removeLock(ctx, id); err != nil {
			return removed, err
		}
		removed = append(removed, info)
	}
	return removed, nil
}
