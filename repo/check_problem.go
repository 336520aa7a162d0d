package repo

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
)

// ProblemKind classifies what Check or RebuildIndex found.
type ProblemKind uint8

// The kinds of problems. All but UnreferencedPack are harmful: they need a
// repair, even when no snapshot depends on what is damaged.
const (
	// MissingPack: the index names a pack the backend does not hold.
	MissingPack ProblemKind = iota + 1
	// UnreadablePack: a pack's header cannot be read, authenticated or
	// parsed.
	UnreadablePack
	// PackHeaderMismatch: the index places blobs in a pack where its header
	// does not (another offset, length or type, or not at all).
	PackHeaderMismatch
	// CorruptPack: a pack's content does not hash to its name.
	CorruptPack
	// CorruptBlob: a blob in a pack fails authentication, decompression or
	// its ID hash.
	CorruptBlob
	// MissingBlob: a tree names a blob that no index locates.
	MissingBlob
	// UnreadableTree: a tree blob the index locates cannot be loaded or
	// decoded.
	UnreadableTree
	// UnreadableSnapshot: a snapshot file cannot be loaded or decoded.
	UnreadableSnapshot
	// UnreadableIndex: an index file cannot be loaded or decoded
	// (RebuildIndex only: Open refuses such a repository).
	UnreadableIndex
	// StrayFile: an object whose name is not an ID, which cairn never
	// writes; listing snapshots or packs fails until it is removed.
	StrayFile
	// UnreferencedPack: a pack no index names. It is a warning: the pack
	// belongs to a backup still running or to one that crashed, and prune
	// removes it.
	UnreferencedPack
)

var problemKindNames = [...]string{
	MissingPack:        "missing pack",
	UnreadablePack:     "unreadable pack",
	PackHeaderMismatch: "pack header mismatch",
	CorruptPack:        "corrupt pack",
	CorruptBlob:        "corrupt blob",
	MissingBlob:        "missing blob",
	UnreadableTree:     "unreadable tree",
	UnreadableSnapshot: "unreadable snapshot",
	UnreadableIndex:    "unreadable index file",
	StrayFile:          "stray file",
	UnreferencedPack:   "unreferenced pack",
}

func (k ProblemKind) String() string {
	if int(k) < len(problemKindNames) && problemKindNames[k] != "" {
		return problemKindNames[k]
	}
	return fmt.Sprintf("ProblemKind(%d)", uint8(k))
}

// Harmless reports whether problems of this kind are only warnings.
func (k ProblemKind) Harmless() bool { return k == UnreferencedPack }

// Problem is one thing wrong with a repository.
type Problem struct {
	Kind ProblemKind
	// Object names what is wrong, with its full ID: "pack 3fa2…",
	// "data blob 12ab…", "snapshot 9c…", "data/xyz" for a stray file.
	Object string
	// Err says what is wrong with it; it names the object too and wraps
	// ErrCorrupt, ErrNotFound or another cause.
	Err error
	// Snapshots are those the problem harms, sorted: the ones that cannot
	// be restored completely because of it. Empty for harmless problems.
	Snapshots []ID
}

// Error returns the kind and what is wrong.
func (p Problem) Error() string {
	return fmt.Sprintf("%s: %v", p.Kind, p.Err)
}

// Unwrap returns Err.
func (p Problem) Unwrap() error { return p.Err }

// String is Error followed by the short IDs of the snapshots harmed.
func (p Problem) String() string {
	if len(p.Snapshots) == 0 {
		return p.Error()
	}
	short := make([]string, len(p.Snapshots))
	for i, id := range p.Snapshots {
		short[i] = id.Short()
	}
	return fmt.Sprintf("%s (harms snapshots %s)", p.Error(), strings.Join(short, ", "))
}

// object is a listed file.
type object struct {
	id   ID
	size int64
}

// listObjects lists the files of type t. Names that are not IDs come back
// as StrayFile problems rather than failing the listing.
func listObjects(ctx context.Context, be backend.Backend, t backend.FileType) ([]object, []Problem, error) {
	var objs []object
	var stray []Problem
	err := be.List(ctx, t, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			h := backend.Handle{Type: t, Name: fi.Name}
			stray = append(stray, Problem{Kind: StrayFile, Object: h.String(),
				Err: &FileError{File: h, Op: "list", Err: fmt.Errorf("name is not an ID: %w", ErrCorrupt)}})
			return nil
		}
		objs = append(objs, object{id, fi.Size})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", t, err)
	}
	return objs, stray, nil
}
