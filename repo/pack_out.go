package repo

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"sync"

	"github.com/cairnbackup/cairn/repo/backend"
)

// spoolBuffer is how much of a spooled pack is gathered before a write.
const spoolBuffer = 256 << 10

// packOut holds a pack's bytes from its first blob until it is stored:
// in a spool file where the backend gives one (backend.Spooler: the local
// backend), so packs never sit in memory, and otherwise in a buffer.
type packOut struct {
	file *os.File
	bw   *bufio.Writer // in front of file
	buf  *bytes.Buffer
	n    int64 // bytes written
}

var (
	packBuffers  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	spoolWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, spoolBuffer) }}
)

// newPackOut starts the bytes of a pack of about size bytes.
func newPackOut(be backend.Backend, size int) *packOut {
	if sp, ok := be.(backend.Spooler); ok {
		if f, err := sp.Spool(backend.PackFile); err == nil {
			bw := spoolWriters.Get().(*bufio.Writer)
			bw.Reset(f)
			return &packOut{file: f, bw: bw}
		}
	}
	buf := packBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	// One allocation of the final size, instead of a doubling series
	// whose garbage would outweigh the pack.
	buf.Grow(size + size/32)
	return &packOut{buf: buf}
}

func (o *packOut) Write(p []byte) (int, error) {
	o.n += int64(len(p))
	if o.bw != nil {
		return o.bw.Write(p)
	}
	return o.buf.Write(p)
}

// close ends writing.
func (o *packOut) close() error {
	if o.bw == nil {
		return nil
	}
	err := o.bw.Flush()
	o.bw.Reset(nil)
	spoolWriters.Put(o.bw)
	o.bw = nil
	return err
}

// ReadAt reads back what was written, once close has returned.
func (o *packOut) ReadAt(p []byte, off int64) (int, error) {
	if o.file != nil {
		return o.file.ReadAt(p, off)
	}
	return bytes.NewReader(o.buf.Bytes()).ReadAt(p, off)
}

// Size returns the number of bytes written.
func (o *packOut) Size() int64 { return o.n }

// save stores the pack as h and releases o.
func (o *packOut) save(ctx context.Context, be backend.Backend, h backend.Handle) error {
	if o.file == nil {
		defer o.release()
		return be.Save(ctx, h, backend.NewByteReader(o.buf.Bytes()))
	}
	f := o.file
	o.file = nil
	return be.(backend.Spooler).SaveSpool(ctx, h, f)
}

// release frees what o holds; o is not used again.
func (o *packOut) release() {
	if o.bw != nil {
		o.bw.Reset(nil)
		spoolWriters.Put(o.bw)
		o.bw = nil
	}
	if o.file != nil {
		o.file.Close()
		o.file = nil
	}
	if o.buf != nil {
		packBuffers.Put(o.buf)
		o.buf = nil
	}
}
