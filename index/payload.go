package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
)

// The payload of an index file, before compression and sealing:
//
//	created  int64 LE, Unix nanoseconds
//	nsup     uvarint, then nsup × 32-byte IDs of superseded index files
//	npacks   uvarint, then per pack:
//	  id      32 bytes
//	  type    1 byte: 0 data, 1 tree
//	  flags   1 byte: bit 0 condemned, other bits 0
//	  nblobs  uvarint ≥ 1, then nblobs × {id 32 bytes, offset, length, raw_length uvarints}
//
// Uvarints are minimal and below 2^32; nothing follows the last pack.
const (
	flagCondemned = 1 << 0

	// minBlobSize is the shortest blob record: an ID and three one-byte uvarints.
	minBlobSize = crypto.IDSize + 3
	// minPackSize is the shortest pack record: ID, type, flags and one blob.
	minPackSize = crypto.IDSize + 2 + 1 + minBlobSize
)

func (f *File) marshal() []byte {
	size := 8 + binary.MaxVarintLen32 + crypto.IDSize*len(f.Supersedes) + binary.MaxVarintLen32
	for _, p := range f.Packs {
		size += crypto.IDSize + 2 + binary.MaxVarintLen32 + len(p.Blobs)*(crypto.IDSize+3*binary.MaxVarintLen32)
	}
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.Created.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(f.Supersedes)))
	for _, id := range f.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Packs)))
	for _, p := range f.Packs {
		var flags byte
		if p.Condemned {
			flags |= flagCondemned
		}
		b = append(b, p.ID[:]...)
		b = append(b, byte(p.Type), flags)
		b = binary.AppendUvarint(b, uint64(len(p.Blobs)))
		for _, blob := range p.Blobs {
			b = append(b, blob.ID[:]...)
			b = binary.AppendUvarint(b, uint64(blob.Offset))
			b = binary.AppendUvarint(b, uint64(blob.Length))
			b = binary.AppendUvarint(b, uint64(blob.RawLength))
		}
	}
	return b
}

// parse decodes a payload. It trusts nothing: every count is checked against
// the bytes left before anything is allocated for it.
func parse(payload []byte) (*File, error) {
	if len(payload) < 8 {
		return nil, corrupt("payload of %d bytes", len(payload))
	}
	d := decoder{buf: payload[8:]}
	f := &File{Created: time.Unix(0, int64(binary.LittleEndian.Uint64(payload))).UTC()}

	nsup, err := d.count(crypto.IDSize)
	if err != nil {
		return nil, corrupt("superseded files: %v", err)
	}
	if nsup > 0 {
		f.Supersedes = make([]crypto.ID, nsup)
		seen := make(map[crypto.ID]struct{}, nsup)
		for i := range f.Supersedes {
			f.Supersedes[i] = d.id()
			if _, dup := seen[f.Supersedes[i]]; dup {
				return nil, corrupt("superseded file %s listed twice", f.Supersedes[i].Short())
			}
			seen[f.Supersedes[i]] = struct{}{}
		}
	}

	npacks, err := d.count(minPackSize)
	if err != nil {
		return nil, corrupt("packs: %v", err)
	}
	if npacks > 0 {
		f.Packs = make([]Pack, npacks)
	}
	seen := make(map[crypto.ID]struct{}, npacks)
	blobsSeen := make(map[crypto.ID]struct{})
	for i := range f.Packs {
		p := &f.Packs[i]
		if err := d.pack(p, i, npacks, blobsSeen); err != nil {
			return nil, corrupt("%v", err)
		}
		if _, dup := seen[p.ID]; dup {
			return nil, corrupt("pack %s listed twice", p.ID.Short())
		}
		seen[p.ID] = struct{}{}
	}
	if len(d.buf) > 0 {
		return nil, corrupt("%d bytes after the last pack", len(d.buf))
	}
	return f, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("index: "+format+": %w", append(args, crypto.ErrCorrupt)...)
}

// decoder consumes a payload from the front.
type decoder struct {
	buf []byte
}

// pack decodes the i-th of n pack records into p. seen is scratch space for
// finding blobs listed twice. Messages name the pack once its ID is read.
func (d *decoder) pack(p *Pack, i, n int, seen map[crypto.ID]struct{}) error {
	if len(d.buf) < crypto.IDSize+2 {
		return fmt.Errorf("pack %d of %d: truncated", i, n)
	}
	p.ID = d.id()
	p.Type = pack.BlobType(d.buf[0])
	flags := d.buf[1]
	d.buf = d.buf[2:]
	if !p.Type.Valid() {
		return fmt.Errorf("pack %s: unknown blob type %d", p.ID.Short(), p.Type)
	}
	if flags&^flagCondemned != 0 {
		return fmt.Errorf("pack %s: unknown flags %#02x", p.ID.Short(), flags)
	}
	p.Condemned = flags&flagCondemned != 0
	nblobs, err := d.count(minBlobSize)
	if err != nil {
		return fmt.Errorf("pack %s: blob count: %v", p.ID.Short(), err)
	}
	if nblobs == 0 {
		return fmt.Errorf("pack %s: no blobs", p.ID.Short())
	}
	p.Blobs = make([]pack.Blob, nblobs)
	clear(seen)
	for j := range p.Blobs {
		b := &p.Blobs[j]
		if err := d.blob(b, j, nblobs); err != nil {
			return fmt.Errorf("pack %s: %v", p.ID.Short(), err)
		}
		if _, dup := seen[b.ID]; dup {
			return fmt.Errorf("pack %s: blob %s listed twice", p.ID.Short(), b.ID.Short())
		}
		seen[b.ID] = struct{}{}
	}
	return nil
}

// blob decodes the i-th of n blob records into b.
func (d *decoder) blob(b *pack.Blob, i, n int) error {
	if len(d.buf) < minBlobSize {
		return fmt.Errorf("blob %d of %d: truncated", i, n)
	}
	b.ID = d.id()
	var err error
	if b.Offset, err = d.uvarint(); err != nil {
		return fmt.Errorf("blob %s: offset: %v", b.ID.Short(), err)
	}
	if b.Length, err = d.uvarint(); err != nil {
		return fmt.Errorf("blob %s: length: %v", b.ID.Short(), err)
	}
	if b.RawLength, err = d.uvarint(); err != nil {
		return fmt.Errorf("blob %s: raw length: %v", b.ID.Short(), err)
	}
	if uint64(b.Offset)+uint64(b.Length) > 1<<32 {
		return fmt.Errorf("blob %s: offset %d + length %d exceeds 4 GiB", b.ID.Short(), b.Offset, b.Length)
	}
	return nil
}

// id consumes an ID; the caller has checked that enough bytes are left.
func (d *decoder) id() crypto.ID {
	id := crypto.ID(d.buf[:crypto.IDSize])
	d.buf = d.buf[crypto.IDSize:]
	return id
}

// count consumes a count of records of at least minSize bytes each and
// checks that the rest of the payload can hold them.
func (d *decoder) count(minSize int) (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(len(d.buf)/minSize) {
		return 0, fmt.Errorf("count %d does not fit in the %d bytes left", n, len(d.buf))
	}
	return int(n), nil
}

// uvarint consumes a minimally encoded uvarint below 2^32. Minimal encoding
// keeps the payload of a given file unique.
func (d *decoder) uvarint() (uint32, error) {
	var x uint64
	for i := range binary.MaxVarintLen32 {
		if i == len(d.buf) {
			return 0, errors.New("truncated uvarint")
		}
		c := d.buf[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, errors.New("uvarint not minimally encoded")
			}
			if x > 1<<32-1 {
				return 0, fmt.Errorf("uvarint %d exceeds 32 bits", x)
			}
			d.buf = d.buf[i+1:]
			return uint32(x), nil
		}
	}
	return 0, errors.New("uvarint exceeds 32 bits")
}
