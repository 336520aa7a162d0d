package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/errgroup"
)

// Snapshot is the record of one backup: what was saved, from where, when,
// and the root tree that holds it.
type Snapshot struct {
	// ID is the snapshot's file name; set by SaveSnapshot and on load.
	ID ID `json:"-"`

	Time     time.Time `json:"time"`
	Host     string    `json:"host"`
	Username string    `json:"username,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	// Paths are what was backed up, as the source describes them.
	Paths []string `json:"paths,omitempty"`
	// Tree is the root tree blob.
	Tree ID `json:"tree"`
	// Parent is the snapshot this one was made incrementally from.
	Parent *ID `json:"parent,omitempty"`
	// Original is, in a snapshot made by Copy, the ID of the snapshot the
	// backup first stored (in whichever repository), so that copies of
	// copies still know it. nil in a snapshot a backup stored.
	Original *ID        `json:"original,omitempty"`
	Source   SourceInfo `json:"source"`
	// Summary is what the backup did; nil for snapshots made without one.
	Summary *Summary `json:"summary,omitempty"`
	// ProgramVersion names the program that wrote the snapshot.
	ProgramVersion string `json:"program_version,omitempty"`
}

// SourceInfo says what kind of source a snapshot was taken from, in a form
// the source defines (for a Docker volume: its name, driver, labels and the
// containers that used it).
type SourceInfo struct {
	Kind        string          `json:"kind"`                  // "dir", "dump", "docker-volume", …
	Description string          `json:"description,omitempty"` // for people
	Details     json.RawMessage `json:"details,omitempty"`     // for programs
}

// Summary counts what a backup did.
type Summary struct {
	FilesNew       uint64        `json:"files_new"`
	FilesChanged   uint64        `json:"files_changed"`
	FilesUnchanged uint64        `json:"files_unchanged"`
	Dirs           uint64        `json:"dirs"`
	BytesRead      uint64        `json:"bytes_read"`
	BytesAdded     uint64        `json:"bytes_added"`  // blob data new to the repository
	BytesStored    uint64        `json:"bytes_stored"` // the same after compression and encryption
	Duration       time.Duration `json:"duration"`
	Errors         []string      `json:"errors,omitempty"` // files that could not be read
}

func snapshotHandle(id ID) backend.Handle {
	return backend.Handle{Type: backend.SnapshotFile, Name: id.String()}
}

// SaveSnapshot flushes w and then stores sn, so a snapshot never names data
// that is not indexed. The root tree must be in the repository. It sets and
// returns sn.ID.
func (w *Writer) SaveSnapshot(ctx context.Context, sn *Snapshot) (ID, error) {
	if err := w.Flush(ctx); err != nil {
		return ID{}, err
	}
	if !w.r.HasBlob(pack.Handle{Type: pack.TreeBlob, ID: sn.Tree}) {
		return ID{}, fmt.Errorf("save snapshot: root tree %s is not in the repository: %w", sn.Tree.Short(), ErrNotFound)
	}
	if sn.Time.IsZero() {
		return ID{}, errors.New("save snapshot: no time")
	}
	payload, err := json.Marshal(sn)
	if err != nil {
		return ID{}, err
	}
	data := envelope.Seal(w.r.key, envelope.Snapshot, payload, w.r.level)
	id, err := saveFile(ctx, w.r.be, backend.SnapshotFile, data)
	if err != nil {
		return ID{}, err
	}
	w.r.cache.store(backend.SnapshotFile, id, data)
	sn.ID = id
	return id, nil
}

// LoadSnapshot loads and verifies one snapshot.
func (r *Repository) LoadSnapshot(ctx context.Context, id ID) (*Snapshot, error) {
	data, err := r.loadCachedFile(ctx, backend.SnapshotFile, id)
	if err != nil {
		return nil, err
	}
	payload, err := envelope.Open(r.key, envelope.Snapshot, data, maxFileSize)
	if err != nil {
		return nil, &FileError{File: snapshotHandle(id), Op: "decode", Err: err}
	}
	sn, err := decodeSnapshot(payload)
	if err != nil {
		return nil, &FileError{File: snapshotHandle(id), Op: "decode", Err: err}
	}
	sn.ID = id
	return sn, nil
}

// decodeSnapshot parses an authenticated snapshot payload.
func decodeSnapshot(payload []byte) (*Snapshot, error) {
	var sn Snapshot
	if err := json.Unmarshal(payload, &sn); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrCorrupt)
	}
	if sn.Tree.IsZero() || sn.Time.IsZero() {
		return nil, fmt.Errorf("snapshot without tree or time: %w", ErrCorrupt)
	}
	return &sn, nil
}

// Snapshots loads every snapshot, oldest first.
func (r *Repository) Snapshots(ctx context.Context) ([]*Snapshot, error) {
	ids, err := listIDs(ctx, r.be, backend.SnapshotFile)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	list := make([]*Snapshot, 0, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			sn, err := r.LoadSnapshot(gctx, id)
			if err != nil {
				return err
			}
			mu.Lock()
			list = append(list, sn)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Time.Equal(list[j].Time) {
			return list[i].Time.Before(list[j].Time)
		}
		return list[i].ID.String() < list[j].ID.String()
	})
	return list, nil
}

// FindSnapshot resolves "latest", a full ID or a unique ID prefix (at least
// four hex digits) to a snapshot.
func (r *Repository) FindSnapshot(ctx context.Context, s string) (*Snapshot, error) {
	if s == "latest" {
		list, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("latest snapshot: repository has none: %w", ErrNotFound)
		}
		return list[len(list)-1], nil
	}
	if id, err := crypto.ParseID(s); err == nil {
		return r.LoadSnapshot(ctx, id)
	}
	ids, err := listIDs(ctx, r.be, backend.SnapshotFile)
	if err != nil {
		return nil, err
	}
	id, err := resolvePrefix(ids, s)
	if err != nil {
		return nil, err
	}
	return r.LoadSnapshot(ctx, id)
}

// resolvePrefix finds the one ID starting with the hex prefix s.
func resolvePrefix(ids []ID, s string) (ID, error) {
	if len(s) < 4 {
		return ID{}, fmt.Errorf("snapshot %q: give at least 4 hex digits or \"latest\"", s)
	}
	prefix := strings.ToLower(s)
	var match []ID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), prefix) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return ID{}, fmt.Errorf("snapshot %q: %w", s, ErrNotFound)
	case 1:
		return match[0], nil
	}
	return ID{}, fmt.Errorf("snapshot %q is ambiguous: %d snapshots start with it", s, len(match))
}

// DeleteSnapshot removes a snapshot record. Its data stays until a prune
// finds it unreferenced.
func (r *Repository) DeleteSnapshot(ctx context.Context, id ID) error {
	h := snapshotHandle(id)
	r.cache.remove(backend.SnapshotFile, id)
	if err := r.be.Remove(ctx, h); err != nil {
		return &FileError{File: h, Op: "remove", Err: err}
	}
	return nil
}
