package repo

import (
	"context"
	"io"
)

// prefetch is how many blobs of one file are loaded ahead of the reader.
const prefetch = 4

// contentReader streams a file's blobs in order, loading a few ahead. It
// starts loading on the first Read, so content nobody reads is not fetched.
type contentReader struct {
	load    func(context.Context, ID) ([]byte, error)
	ctx     context.Context
	cancel  context.CancelFunc
	ids     []ID
	futures chan *blobFuture
	cur     []byte
	err     error
}

type blobFuture struct {
	done chan struct{}
	data []byte
	err  error
}

// newContentReader reads the data blobs ids, each loaded with load.
func newContentReader(ctx context.Context, ids []ID, load func(context.Context, ID) ([]byte, error)) *contentReader {
	ctx, cancel := context.WithCancel(ctx)
	return &contentReader{load: load, ctx: ctx, cancel: cancel, ids: ids}
}

func (c *contentReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.futures == nil {
			c.start()
		}
		f, ok := <-c.futures
		if !ok {
			c.err = io.EOF
			if err := c.ctx.Err(); err != nil {
				c.err = err
			}
			continue
		}
		<-f.done
		if f.err != nil {
			c.err = f.err
			continue
		}
		c.cur = f.data
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// start launches the loads, at most prefetch ahead of the reader.
func (c *contentReader) start() {
	c.futures = make(chan *blobFuture, prefetch)
	go func() {
		defer close(c.futures)
		for _, id := range c.ids {
			f := &blobFuture{done: make(chan struct{})}
			select {
			case c.futures <- f:
			case <-c.ctx.Done():
				return
			}
			go func() {
				defer close(f.done)
				f.data, f.err = c.load(c.ctx, id)
			}()
		}
	}()
}

// Close stops loading ahead.
func (c *contentReader) Close() error {
	c.cancel()
	return nil
}

var _ io.ReadCloser = (*contentReader)(nil)
