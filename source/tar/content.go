package tar

import (
	"archive/tar"
	"errors"
	"io"
	"sync"
)

var (
	errExpired     = errors.New("content read after the walk moved on or the reader was closed")
	errOpenedTwice = errors.New("content opened twice")
)

// content reads the current entry of a stream. It turns useless once the
// walk moves on, and says so instead of handing out the next entry's
// bytes; the mutex keeps a reader misused from another goroutine from
// racing the walk.
type content struct {
	mu     sync.Mutex
	tr     *tar.Reader
	name   string
	opened bool
	done   bool
}

// open is the entry's Open: a stream can be read only once.
func (c *content) open() (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.done:
		return nil, entryErr(c.name, errExpired)
	case c.opened:
		return nil, entryErr(c.name, errOpenedTwice)
	}
	c.opened = true
	return c, nil
}

func (c *content) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return 0, entryErr(c.name, errExpired)
	}
	n, err := c.tr.Read(p)
	if err != nil && err != io.EOF {
		err = entryErr(c.name, err)
	}
	return n, err
}

func (c *content) Close() error {
	c.expire()
	return nil
}

func (c *content) expire() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}
