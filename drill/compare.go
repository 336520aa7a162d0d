package drill

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// checker compares the restored tree with the snapshot and collects the
// differences. Its mismatch and warn methods may be called concurrently.
type checker struct {
	rep   *Report
	base  *base
	keep  map[string]bool // nil: everything
	grain time.Duration   // of modification times on the scratch file system

	mu     sync.Mutex // guards rep.Mismatches, rep.Warnings and warned
	warned map[string]bool

	links      []linked // regular files in hard link groups
	gone, skip string   // a missing and an unexpected directory: not reported again inside
}

// linked is a restored regular file that is, or should be, a hard link.
type linked struct {
	path, key  string // key: the snapshot's group (see base.linkKey)
	dev, inode uint64 // on disk
}

func newChecker(rep *Report, b *base, keep map[string]bool, grain time.Duration) *checker {
	return &checker{rep: rep, base: b, keep: keep, grain: grain, warned: map[string]bool{}}
}

func (c *checker) mismatch(p, what, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rep.Mismatches = append(c.rep.Mismatches, Mismatch{Path: p, What: what, Detail: detail})
}

// warn records something the restore went on without; it is the
// target's TargetOptions.Warn.
func (c *checker) warn(p string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warned[p] = true
	c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s: %v", p, err))
}

// wanted is an entry the restore should have made.
type wanted struct {
	path string
	node *repo.Node
}

// expected yields what the restore should have made, in the order the
// walk of the restored directory comes in.
func (c *checker) expected(ctx context.Context, r *repo.Repository) iter.Seq2[wanted, error] {
	return func(yield func(wanted, error) bool) {
		if !yield(wanted{".", &c.base.self}, nil) {
			return
		}
		errStop := errors.New("stop")
		err := c.base.walk(ctx, r, func(p string, n *repo.Node) (bool, error) {
			if (c.keep != nil && !c.keep[p]) || n.Type == source.TypeSocket {
				return false, nil // sockets are not restored
			}
			if !yield(wanted{p, n}, nil) {
				return false, errStop
			}
			return true, nil
		})
		if err != nil && err != errStop {
			yield(wanted{}, err)
		}
	}
}

// compare walks dir and the snapshot side by side.
func (c *checker) compare(ctx context.Context, r *repo.Repository, dir string) error {
	next, stop := iter.Pull2(c.expected(ctx, r))
	defer stop()
	want, err, more := next()
	walkErr := cairnfs.Dir(dir, cairnfs.Options{}).Walk(ctx, func(got *source.Entry) error {
		for ; more && err == nil && comparePaths(want.path, got.Path) < 0; want, err, more = next() {
			c.missing(want)
		}
		if err != nil {
			return err
		}
		switch {
		case got.Err != nil:
			if more && inside(want.path, got.Path) {
				c.mismatch(got.Path, "unreadable", got.Err.Error())
				c.gone = got.Path
				if want.path == got.Path {
					want, err, more = next()
				}
			}
			// else: nothing the snapshot has could be read there
		case more && want.path == got.Path:
			c.check(want, got)
			want, err, more = next()
		case c.skip == "" || !inside(got.Path, c.skip):
			c.mismatch(got.Path, "unexpected", "not in the snapshot: a "+got.Type.String())
			if got.Type == source.TypeDir {
				c.skip = got.Path
			}
		}
		return err
	})
	if walkErr != nil {
		return walkErr
	}
	for ; more && err == nil; want, err, more = next() {
		c.missing(want)
	}
	if err != nil {
		return err
	}
	c.checkLinks()
	return nil
}

func (c *checker) missing(w wanted) {
	if c.gone != "" && inside(w.path, c.gone) {
		return
	}
	if w.node.Type == source.TypeDir {
		c.gone = w.path
	}
	c.mu.Lock()
	warned := c.warned[w.path]
	c.mu.Unlock()
	if !warned { // the warning says why
		c.mismatch(w.path, "missing", "a "+w.node.Type.String()+" of the snapshot")
	}
}

// comparePaths orders slash paths as a depth-first walk in name order
// meets them.
func comparePaths(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == ".":
		return -1
	case b == ".":
		return 1
	}
	for {
		ae, arest, amore := strings.Cut(a, "/")
		be, brest, bmore := strings.Cut(b, "/")
		if c := strings.Compare(ae, be); c != 0 {
			return c
		}
		if !amore || !bmore {
			if amore {
				return 1
			}
			return -1 // a is a directory b is in
		}
		a, b = arest, brest
	}
}

// inside reports whether p is dir or in it.
func inside(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
