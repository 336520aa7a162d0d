package fs

import (
	"os"
	"sync"
)

// dirCacheSize is how many directories a Target keeps open. A restore goes
// depth first with a few files in flight, so the directories in use are
// the few around the walk's position.
const dirCacheSize = 16

// dirCache keeps the directories entries were last put in open. Opening
// one through the os.Root costs an openat per path component; files of
// one directory, restored one after another, share one descriptor instead.
type dirCache struct {
	mu    sync.Mutex
	dirs  map[string]*cachedDir
	order []string // least recently used first
}

type cachedDir struct {
	f       *os.File
	refs    int  // users of f
	evicted bool // close f when the last user is done
}

// get returns the open directory dir, with a release function, or nil.
func (c *dirCache) get(dir string) (*os.File, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dirs[dir]
	if !ok {
		return nil, nil
	}
	d.refs++
	c.touch(dir)
	return d.f, c.releaser(d)
}

// add caches f, just opened as dir, and returns its release function. If
// dir is cached already, f stays the caller's alone.
func (c *dirCache) add(dir string, f *os.File) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dirs[dir]; ok {
		return func() { f.Close() }
	}
	if c.dirs == nil {
		c.dirs = make(map[string]*cachedDir)
	}
	d := &cachedDir{f: f, refs: 1}
	c.dirs[dir] = d
	c.order = append(c.order, dir)
	for len(c.order) > dirCacheSize {
		c.evict(c.order[0])
	}
	return c.releaser(d)
}

// forget drops dir, about to be replaced, from the cache.
func (c *dirCache) forget(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dirs[dir]; ok {
		c.evict(dir)
	}
}

// closeAll closes every directory once its users are done.
func (c *dirCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.order) > 0 {
		c.evict(c.order[0])
	}
}

func (c *dirCache) releaser(d *cachedDir) func() {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		d.refs--
		if d.evicted && d.refs == 0 {
			d.f.Close()
		}
	}
}

// evict removes dir; c.mu held.
func (c *dirCache) evict(dir string) {
	d := c.dirs[dir]
	delete(c.dirs, dir)
	for i, o := range c.order {
		if o == dir {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	d.evicted = true
	if d.refs == 0 {
		d.f.Close()
	}
}

// touch marks dir used last; c.mu held.
func (c *dirCache) touch(dir string) {
	for i, o := range c.order {
		if o == dir {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), dir)
			return
		}
	}
}
