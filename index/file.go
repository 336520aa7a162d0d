package index

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/pack"
)

// MaxPayloadSize bounds the decompressed payload of one index file, so a
// hostile file cannot make Decode allocate without limit. At about 40 bytes
// per blob it allows some 25 million blobs per file; writers split larger
// indexes into several files.
const MaxPayloadSize = 1 << 30

// File is the content of one index file, the object index/<id>.
type File struct {
	// Created is when the file was written, kept to the nanosecond;
	// Decode returns it in UTC.
	Created time.Time
	// Supersedes names index files whose content this file carries over, so
	// readers may skip them (see Live).
	Supersedes []crypto.ID
	Packs      []Pack
}

// Pack lists the blobs of one pack. All blobs of a pack have its type.
type Pack struct {
	ID   crypto.ID // the pack's name
	Type pack.BlobType
	// Condemned marks a pack that prune has scheduled for deletion: it still
	// exists, but new backups must not deduplicate against its blobs.
	Condemned bool
	Blobs     []pack.Blob
}

// Encode serializes f and seals it with k. It refuses a file that Decode
// would reject: an unknown type, a pack without blobs, a pack or blob listed
// twice, a blob reaching past 4 GiB, or a time outside the int64 nanosecond
// range (years 1678 to 2262).
func (f *File) Encode(k *crypto.Key) ([]byte, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	payload := f.marshal()
	if len(payload) > MaxPayloadSize {
		return nil, fmt.Errorf("index: payload of %d bytes exceeds %d: split the index", len(payload), MaxPayloadSize)
	}
	return envelope.Seal(k, envelope.Index, payload, compress.Default), nil
}

// Decode authenticates and parses an index file. A damaged, truncated or
// malformed file wraps crypto.ErrCorrupt; an unknown envelope version wraps
// crypto.ErrUnsupportedVersion.
func Decode(k *crypto.Key, data []byte) (*File, error) {
	payload, err := envelope.Open(k, envelope.Index, data, MaxPayloadSize)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return parse(payload)
}

// Live returns, sorted, the IDs of the files that no other file in files
// supersedes: the ones a reader must load. A file merged into another that
// was itself merged again is superseded too, since both replacements are
// present.
func Live(files map[crypto.ID]*File) []crypto.ID {
	superseded := make(map[crypto.ID]bool)
	for id, f := range files {
		if f == nil {
			continue
		}
		for _, s := range f.Supersedes {
			if s != id {
				superseded[s] = true
			}
		}
	}
	live := make([]crypto.ID, 0, len(files))
	for id := range files {
		if !superseded[id] {
			live = append(live, id)
		}
	}
	slices.SortFunc(live, func(a, b crypto.ID) int { return bytes.Compare(a[:], b[:]) })
	return live
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// validate applies the decoder's rules, so that Encode never writes a file
// that Decode refuses.
func (f *File) validate() error {
	if f.Created.Before(minTime) || f.Created.After(maxTime) {
		return fmt.Errorf("index: created time %v outside the years 1678 to 2262", f.Created)
	}
	seen := make(map[crypto.ID]struct{})
	if id, dup := firstDuplicate(seen, f.Supersedes, func(id crypto.ID) crypto.ID { return id }); dup {
		return fmt.Errorf("index: superseded file %s listed twice", id.Short())
	}
	if id, dup := firstDuplicate(seen, f.Packs, func(p Pack) crypto.ID { return p.ID }); dup {
		return fmt.Errorf("index: pack %s listed twice", id.Short())
	}
	for _, p := range f.Packs {
		if !p.Type.Valid() {
			return fmt.Errorf("index: pack %s: invalid blob type %d", p.ID.Short(), p.Type)
		}
		if len(p.Blobs) == 0 {
			return fmt.Errorf("index: pack %s: no blobs", p.ID.Short())
		}
		if id, dup := firstDuplicate(seen, p.Blobs, func(b pack.Blob) crypto.ID { return b.ID }); dup {
			return fmt.Errorf("index: pack %s: blob %s listed twice", p.ID.Short(), id.Short())
		}
		for _, b := range p.Blobs {
			if uint64(b.Offset)+uint64(b.Length) > 1<<32 {
				return fmt.Errorf("index: pack %s: blob %s: offset %d + length %d exceeds 4 GiB",
					p.ID.Short(), b.ID.Short(), b.Offset, b.Length)
			}
		}
	}
	return nil
}

// firstDuplicate returns the first ID that key yields twice. seen is scratch
// space, reused to spare an allocation per pack.
func firstDuplicate[T any](seen map[crypto.ID]struct{}, items []T, key func(T) crypto.ID) (crypto.ID, bool) {
	clear(seen)
	for _, it := range items {
		id := key(it)
		if _, dup := seen[id]; dup {
			return id, true
		}
		seen[id] = struct{}{}
	}
	return crypto.ID{}, false
}
