package repo

import (
	"context"

	"github.com/cairnbackup/cairn/pack"
)

// Stats describes what a repository holds.
type Stats struct {
	Snapshots   int
	Packs       int
	DataBlobs   int
	TreeBlobs   int
	RawBytes    uint64 // blob content, before compression
	StoredBytes uint64 // the same blobs as stored: compressed and sealed
}

// Stats counts snapshots, packs and blobs.
func (r *Repository) Stats(ctx context.Context) (Stats, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Snapshots: len(snaps), Packs: r.idx.PackCount()}
	for h, loc := range r.idx.All() {
		if h.Type == pack.TreeBlob {
			st.TreeBlobs++
		} else {
			st.DataBlobs++
		}
		st.RawBytes += uint64(loc.RawLength)
		st.StoredBytes += uint64(loc.Length)
	}
	return st, nil
}
