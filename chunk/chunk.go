// Package chunk cuts a byte stream into content-defined chunks.
//
// Boundaries are found with Rabin fingerprints over a 64-byte window
// (github.com/restic/chunker) using the repository's secret polynomial, so the
// same content gives the same chunks wherever it appears in a file and the
// boundaries cannot be predicted without the key. A boundary is taken where
// the low bits of the fingerprint are zero (Avg is the expected distance, counted
// from Min onwards), but never before Min bytes and always at Max bytes.
// Input shorter than Min is one chunk; empty input is no chunk.
//
// A Chunker reuses its buffers across Reset calls, so one Chunker per
// goroutine can cut any number of files without allocating. A Splitter cuts
// random-access input (a file) into the very same chunks on several cores.
package chunk

import (
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/restic/chunker"
)

// Defaults for Params. The mean chunk is about 1.5 MiB, since the boundary
// test only starts after Min bytes.
const (
	DefaultMin = 512 << 10
	DefaultAvg = 1 << 20
	DefaultMax = 8 << 20

	// windowSize is the Rabin window of restic/chunker; Min must exceed it.
	windowSize = 64
	// MaxMax bounds Max so a chunk always fits comfortably in memory.
	MaxMax = 64 << 20
	// readSize is how much the chunker reads from its input at once.
	readSize = 512 << 10
)

// Params are a repository's chunk size limits. The zero value means defaults.
type Params struct {
	Min uint32 `json:"min"`
	Avg uint32 `json:"avg"` // a power of two
	Max uint32 `json:"max"`
}

// DefaultParams returns 512 KiB / 1 MiB / 8 MiB.
func DefaultParams() Params {
	return Params{Min: DefaultMin, Avg: DefaultAvg, Max: DefaultMax}
}

// WithDefaults returns p with the zero value replaced by DefaultParams.
func (p Params) WithDefaults() Params {
	if p == (Params{}) {
		return DefaultParams()
	}
	return p
}

// Validate reports whether the limits can be used: Min > 64 bytes,
// Min < Avg < Max <= MaxMax, and Avg a power of two.
func (p Params) Validate() error {
	switch {
	case p.Min <= windowSize:
		return fmt.Errorf("chunk params: min %d must exceed %d bytes", p.Min, windowSize)
	case p.Avg <= p.Min || p.Max <= p.Avg:
		return fmt.Errorf("chunk params: want min < avg < max, have %d / %d / %d", p.Min, p.Avg, p.Max)
	case p.Max > MaxMax:
		return fmt.Errorf("chunk params: max %d exceeds %d", p.Max, MaxMax)
	case bits.OnesCount32(p.Avg) != 1:
		return fmt.Errorf("chunk params: avg %d is not a power of two", p.Avg)
	}
	return nil
}

// Chunker splits one input at a time into chunks.
type Chunker struct {
	pol    chunker.Pol
	params Params
	base   chunker.BaseChunker

	rd   io.Reader
	buf  []byte
	bpos int
	bmax int
	eof  bool
}

// New returns a Chunker for the polynomial pol (from the repository's master
// key) and limits p. Call Reset before the first Next.
func New(pol uint64, p Params) (*Chunker, error) {
	p, err := checked(pol, p)
	if err != nil {
		return nil, err
	}
	return &Chunker{pol: chunker.Pol(pol), params: p, buf: make([]byte, readSize)}, nil
}

// checked returns p with defaults if p and pol can be used.
func checked(pol uint64, p Params) (Params, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return p, err
	}
	if chunker.Pol(pol).Deg() != 53 {
		return p, errors.New("chunk: polynomial must have degree 53")
	}
	return p, nil
}

// Params returns the limits the Chunker cuts with.
func (c *Chunker) Params() Params { return c.params }

// Reset starts cutting r from its beginning, keeping the buffers.
func (c *Chunker) Reset(r io.Reader) {
	resetBase(&c.base, c.pol, c.params)
	c.rd = r
	c.bpos, c.bmax = 0, 0
	c.eof = false
}

// Next appends the next chunk to dst[:0] and returns it. After the last chunk
// it returns io.EOF. A read error from the input is returned as is; the chunk
// being cut is then lost and the Chunker must be Reset.
func (c *Chunker) Next(dst []byte) ([]byte, error) {
	dst = dst[:0]
	for {
		if c.bpos == c.bmax {
			if c.eof {
				if len(dst) > 0 {
					return dst, nil
				}
				return nil, io.EOF
			}
			if err := c.fill(); err != nil {
				return nil, err
			}
			continue
		}
		split := c.base.NextSplitPoint(c.buf[c.bpos:c.bmax])
		if split < 0 {
			dst = append(dst, c.buf[c.bpos:c.bmax]...)
			c.bpos = c.bmax
			continue
		}
		dst = append(dst, c.buf[c.bpos:c.bpos+split]...)
		c.bpos += split
		return dst, nil
	}
}

// resetBase makes b a fresh chunker for p, the state it is also in right
// after each cut.
func resetBase(b *chunker.BaseChunker, pol chunker.Pol, p Params) {
	b.Reset(pol,
		chunker.WithBaseBoundaries(uint(p.Min), uint(p.Max)),
		chunker.WithBaseAverageBits(bits.TrailingZeros32(p.Avg)))
}

// fill reads the next block of input into the buffer.
func (c *Chunker) fill() error {
	n, err := io.ReadFull(c.rd, c.buf)
	c.bpos, c.bmax = 0, n
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		c.eof = true
		return nil
	case err != nil:
		return err
	}
	return nil
}
