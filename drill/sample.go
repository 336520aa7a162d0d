package drill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

// base is the directory a drill restores: the snapshot's root or
// Options.Path, found the way Restore finds it.
type base struct {
	prefix string    // Options.Path and "/"; "" for the root
	self   repo.Node // the directory itself, named "."
	tree   *repo.Tree
}

func loadBase(ctx context.Context, r *repo.Repository, id repo.ID, p string) (*base, error) {
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	t, err := r.LoadTree(ctx, sn.Tree)
	if err != nil {
		return nil, err
	}
	// A snapshot without root metadata is restored as a plain 0755
	// directory without a time of its own.
	b := &base{tree: t, self: repo.Node{Entry: source.Entry{Type: source.TypeDir, Perm: 0o755}}}
	if t.Self != nil {
		b.self = *t.Self
	}
	b.self.Path = "."
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return b, nil
	}
	if err := source.ValidPath(p); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	elems := strings.Split(p, "/")
	for i, name := range elems {
		n := t.Find(name)
		if n == nil || n.Type != source.TypeDir {
			return nil, fmt.Errorf("%s: no such directory in the snapshot: %w", strings.Join(elems[:i+1], "/"), repo.ErrNotFound)
		}
		if t, err = r.LoadTree(ctx, n.Subtree); err != nil {
			return nil, err
		}
		b.self = *n
	}
	b.self.Path = "."
	b.tree, b.prefix = t, p+"/"
	return b, nil
}

// walk calls fn for every entry below b, in restore order, with its path
// relative to b. If fn returns false for a directory, its contents are
// left out.
func (b *base) walk(ctx context.Context, r *repo.Repository, fn func(p string, n *repo.Node) (bool, error)) error {
	return walkTree(ctx, r, b.tree, ".", fn)
}

func walkTree(ctx context.Context, r *repo.Repository, t *repo.Tree, dir string, fn func(string, *repo.Node) (bool, error)) error {
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := n.Path
		if dir != "." {
			p = dir + "/" + n.Path
		}
		descend, err := fn(p, n)
		if err != nil {
			return err
		}
		if n.Type != source.TypeDir || !descend {
			continue
		}
		sub, err := r.LoadTree(ctx, n.Subtree)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := walkTree(ctx, r, sub, p, fn); err != nil {
			return err
		}
	}
	return nil
}

// linkKey names the hard link group of the regular file n at p: the path
// of the file it links to, if that is restored too, or else its own. A
// link whose target lies outside Options.Path is restored as a copy.
func (b *base) linkKey(p string, n *repo.Node) string {
	if n.Hardlink == "" {
		return p
	}
	if rel, ok := strings.CutPrefix(n.Hardlink, b.prefix); ok {
		return rel
	}
	return p
}

// choose picks the sample: each regular file with probability
// opts.Sample, then at most opts.Files of those by reservoir sampling, so
// only the sample is held. Should that pick none of a snapshot's files,
// one of them is taken at random: a drill always checks something. Hard
// links come along with the file they link to. It returns the paths to
// restore, with every directory leading to them.
func choose(ctx context.Context, r *repo.Repository, b *base, opts Options, seed int64) (map[string]bool, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xd811))
	var chosen []string
	seen := 0
	spare, passed := "", 0         // one of the files Sample passed over, at random
	links := map[string][]string{} // file → hard links to it
	err := b.walk(ctx, r, func(p string, n *repo.Node) (bool, error) {
		if n.Type != source.TypeFile {
			return true, nil
		}
		if k := b.linkKey(p, n); k != p {
			links[k] = append(links[k], p)
			return true, nil
		}
		if opts.Sample > 0 && opts.Sample < 1 && rng.Float64() >= opts.Sample {
			if passed++; rng.IntN(passed) == 0 {
				spare = p
			}
			return true, nil
		}
		seen++
		if opts.Files <= 0 || len(chosen) < opts.Files {
			chosen = append(chosen, p)
		} else if j := rng.IntN(seen); j < opts.Files {
			chosen[j] = p
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(chosen) == 0 && spare != "" {
		chosen = append(chosen, spare)
	}
	keep := map[string]bool{".": true}
	for _, p := range chosen {
		add(keep, p)
		for _, l := range links[p] {
			add(keep, l)
		}
	}
	return keep, nil
}

// add puts p and the directories leading to it into keep.
func add(keep map[string]bool, p string) {
	for !keep[p] {
		keep[p] = true
		p = path.Dir(p)
	}
}
