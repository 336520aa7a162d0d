package repo

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/cairnbackup/cairn/pack"
)

// plan decides every pack's fate, in an order where each decision can
// count on the ones before it: packs that stay, then condemned packs that
// are needed after all, then what repacking must copy.
func (p *pruner) plan() {
	packs := p.sortedPacks()
	var candidates []*prunePack
	for _, pp := range packs {
		switch {
		case len(pp.condemnedBy) > 0:
			pp.action = pruneDelete // unless needed, below
			for _, f := range pp.condemnedBy {
				if !p.eligible[f] {
					pp.action = pruneWait
				}
			}
		case !p.isStored(pp.ID):
			pp.action = pruneKeep // damage for Check to report
			p.rep.Missing = append(p.rep.Missing, pp.ID)
		default:
			used, total := p.usage(pp)
			switch {
			case used == 0:
				pp.action = pruneCondemn
			case p.opts.MaxUnused >= 0 && float64(total-used) > p.opts.MaxUnused*float64(total):
				candidates = append(candidates, pp)
			}
		}
	}
	p.chooseRepacks(candidates)
	p.holdListed()

	safe := make(blobSet) // needed blobs that stay in a pack not condemned
	for _, pp := range packs {
		if pp.action == pruneKeep {
			p.addSafe(safe, pp)
		}
	}
	for _, pp := range packs {
		if pp.action == pruneDelete && p.needs(safe, pp) {
			pp.action = pruneUncondemn
			p.addSafe(safe, pp)
		}
	}
	for _, pp := range packs {
		if pp.action == pruneRepack {
			for _, h := range p.copies(safe, pp) {
				p.toCopy = append(p.toCopy, h)
			}
		}
		p.report(pp)
	}
}

// holdListed keeps waiting the packs of condemned-only files that cannot
// be superseded because another of their packs waits: a deleted pack must
// not stay named by a live index file.
func (p *pruner) holdListed() {
	for changed := true; changed; {
		changed = false
		for id, f := range p.files {
			if !p.eligible[id] || p.superseded(id) {
				continue
			}
			for _, ip := range f.Packs {
				if pp := p.packs[packKey{ip.ID, ip.Type}]; pp.action == pruneDelete {
					pp.action, changed = pruneWait, true
				}
			}
		}
	}
}

// superseded reports whether the new index replaces the live file id:
// every file that is not condemned-only, and condemned-only files none of
// whose packs still wait.
func (p *pruner) superseded(id ID) bool {
	if !p.condemnedOnly[id] {
		return true
	}
	for _, ip := range p.files[id].Packs {
		if p.packs[packKey{ip.ID, ip.Type}].action == pruneWait {
			return false
		}
	}
	return true
}

// chooseRepacks takes the candidates with the largest unused share first,
// up to MaxRepack bytes; the others stay as they are.
func (p *pruner) chooseRepacks(cands []*prunePack) {
	share := func(pp *prunePack) float64 {
		used, total := p.usage(pp)
		return float64(total-used) / float64(total)
	}
	slices.SortStableFunc(cands, func(a, b *prunePack) int { return cmp.Compare(share(b), share(a)) })
	var bytes int64
	for _, pp := range cands {
		size := p.stored[pp.ID]
		if p.opts.MaxRepack > 0 && bytes+size > p.opts.MaxRepack {
			continue
		}
		bytes += size
		pp.action = pruneRepack
	}
}

// usage sums the stored lengths of a pack's needed blobs and of all its
// blobs.
func (p *pruner) usage(pp *prunePack) (used, total uint64) {
	for _, b := range pp.Blobs {
		total += uint64(b.Length)
		if p.isUsed(pp.Type, b.ID) {
			used += uint64(b.Length)
		}
	}
	return used, total
}

func (p *pruner) addSafe(safe blobSet, pp *prunePack) {
	for _, b := range pp.Blobs {
		if p.isUsed(pp.Type, b.ID) {
			safe[pack.Handle{Type: pp.Type, ID: b.ID}] = struct{}{}
		}
	}
}

// needs reports whether pp holds a needed blob that no safe pack holds.
func (p *pruner) needs(safe blobSet, pp *prunePack) bool {
	for _, b := range pp.Blobs {
		h := pack.Handle{Type: pp.Type, ID: b.ID}
		if _, ok := safe[h]; !ok && p.isUsed(pp.Type, b.ID) {
			return true
		}
	}
	return false
}

// copies returns the needed blobs of a repacked pack that no safe pack
// holds, and marks them safe: the copy will hold them.
func (p *pruner) copies(safe blobSet, pp *prunePack) []pack.Handle {
	var out []pack.Handle
	for _, b := range pp.Blobs {
		h := pack.Handle{Type: pp.Type, ID: b.ID}
		if _, ok := safe[h]; !ok && p.isUsed(pp.Type, b.ID) {
			safe[h] = struct{}{}
			out = append(out, h)
		}
	}
	return out
}

func (p *pruner) report(pp *prunePack) {
	r := p.rep
	switch pp.action {
	case pruneCondemn:
		r.Condemned = append(r.Condemned, pp.ID)
	case pruneRepack:
		r.Repacked = append(r.Repacked, pp.ID)
	case pruneWait:
		r.Waiting = append(r.Waiting, pp.ID)
	case pruneDelete:
		r.Deleted = append(r.Deleted, pp.ID)
		r.BytesDeleted += uint64(p.stored[pp.ID])
	case pruneUncondemn:
		r.Kept = append(r.Kept, pp.ID)
	}
}

func (p *pruner) isStored(id ID) bool {
	_, ok := p.stored[id]
	return ok
}

// sortedPacks returns the packs in a fixed order, so that prune decides
// the same way every time.
func (p *pruner) sortedPacks() []*prunePack {
	out := make([]*prunePack, 0, len(p.packs))
	for _, pp := range p.packs {
		out = append(out, pp)
	}
	slices.SortFunc(out, func(a, b *prunePack) int {
		if c := bytes.Compare(a.ID[:], b.ID[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Type, b.Type)
	})
	return out
}
