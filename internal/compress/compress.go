// Package compress encodes byte slices with zstd behind a one-byte mode tag,
// the plaintext form of every blob and sealed file in a repository:
//
//	mode 0x00: the bytes follow as they are
//	mode 0x01: a zstd frame follows
//
// Data is stored raw when compressing does not make it smaller. One encoder
// per level and one decoder are shared by the whole process; both are safe for
// concurrent use.
package compress

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Modes, the first byte of an encoded value.
const (
	ModeRaw  byte = 0
	ModeZstd byte = 1
)

// Level is how hard the encoder works.
type Level uint8

// Levels, from none to best. Off never compresses.
const (
	Off Level = iota
	Fastest
	Default
	Better
	Best
)

var (
	encoders [Best + 1]struct {
		once sync.Once
		enc  *zstd.Encoder
	}
	decoderOnce sync.Once
	decoder     *zstd.Decoder
)

func encoder(l Level) *zstd.Encoder {
	e := &encoders[l]
	e.once.Do(func() {
		levels := [...]zstd.EncoderLevel{Fastest: zstd.SpeedFastest, Default: zstd.SpeedDefault,
			Better: zstd.SpeedBetterCompression, Best: zstd.SpeedBestCompression}
		var err error
		e.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(levels[l]),
			zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true),
			// Single-segment frames always carry their content size, even
			// under 256 bytes; Decode relies on it to bound memory.
			zstd.WithSingleSegment(true))
		if err != nil {
			panic(err) // only bad options fail, and these are fixed
		}
	})
	return e.enc
}

func zstdDecoder() *zstd.Decoder {
	decoderOnce.Do(func() {
		var err error
		decoder, err = zstd.NewReader(nil, zstd.IgnoreChecksum(true),
			zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<32))
		if err != nil {
			panic(err)
		}
	})
	return decoder
}

// Append appends the encoded form of src (mode byte, then data) to dst.
func Append(dst, src []byte, l Level) []byte {
	n := len(dst)
	if l > Off && l <= Best && len(src) > 0 {
		dst = append(dst, ModeZstd)
		dst = encoder(l).EncodeAll(src, dst)
		if len(dst)-n-1 < len(src) {
			return dst
		}
		dst = dst[:n]
	}
	dst = append(dst, ModeRaw)
	return append(dst, src...)
}

// Decode appends the data of an encoded value to dst. It fails if the value
// is malformed or would decode to more than limit bytes.
func Decode(dst, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 {
		return nil, fmt.Errorf("empty value: no mode byte")
	}
	switch src[0] {
	case ModeRaw:
		if len(src)-1 > limit {
			return nil, fmt.Errorf("value of %d bytes exceeds limit %d", len(src)-1, limit)
		}
		return append(dst, src[1:]...), nil
	case ModeZstd:
		return decodeZstd(dst, src[1:], limit)
	}
	return nil, fmt.Errorf("unknown compression mode %#x", src[0])
}

// View is Decode that returns the data of a value stored uncompressed as
// part of src itself, without copying it; compressed data is appended to
// dst as Decode does.
func View(dst, src []byte, limit int) ([]byte, error) {
	if len(src) > 0 && src[0] == ModeRaw && len(src)-1 <= limit {
		return src[1:], nil
	}
	return Decode(dst, src, limit)
}

func decodeZstd(dst, src []byte, limit int) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return nil, fmt.Errorf("zstd header: %w", err)
	}
	if !h.HasFCS || h.FrameContentSize > uint64(limit) {
		return nil, fmt.Errorf("zstd frame of unknown or excessive size (limit %d)", limit)
	}
	n := len(dst)
	if cap(dst)-n < int(h.FrameContentSize) {
		nd := make([]byte, n, n+int(h.FrameContentSize))
		copy(nd, dst)
		dst = nd
	}
	out, err := zstdDecoder().DecodeAll(src, dst)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if uint64(len(out)-n) != h.FrameContentSize {
		return nil, fmt.Errorf("zstd: decoded %d bytes, frame says %d", len(out)-n, h.FrameContentSize)
	}
	return out, nil
}
