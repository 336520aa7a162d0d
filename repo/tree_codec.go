package repo

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// Tree blob encoding (FORMAT.md §9). Deterministic: the same tree always
// gives the same bytes, so an unchanged directory dedups.
const (
	treeVersion  = 1
	treeHasSelf  = 1 << 0
	nodeSparse   = 1 << 0
	maxTreeNodes = 1 << 26
)

func encodeTree(b []byte, t *Tree) []byte {
	var flags byte
	if t.Self != nil {
		flags |= treeHasSelf
	}
	b = append(b, treeVersion, flags)
	if t.Self != nil {
		b = encodeNode(b, t.Self)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Nodes)))
	for i := range t.Nodes {
		b = encodeNode(b, &t.Nodes[i])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func encodeNode(b []byte, n *Node) []byte {
	b = appendString(b, n.Path)
	b = append(b, byte(n.Type))
	b = binary.AppendUvarint(b, uint64(source.UnixPerm(n.Perm)))
	b = binary.AppendUvarint(b, uint64(n.UID))
	b = binary.AppendUvarint(b, uint64(n.GID))
	b = appendString(b, n.User)
	b = appendString(b, n.Group)
	b = binary.AppendUvarint(b, uint64(n.Size))
	b = appendTime(b, n.ModTime)
	b = appendTime(b, n.ChangeTime)
	b = binary.AppendUvarint(b, n.Inode)
	b = binary.AppendUvarint(b, n.Device)
	b = binary.AppendUvarint(b, n.Links)
	b = appendString(b, n.Hardlink)
	b = appendString(b, n.LinkTarget)
	b = binary.AppendUvarint(b, n.Rdev)
	var flags byte
	if n.Sparse {
		flags |= nodeSparse
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(n.Xattrs)))
	for _, x := range n.Xattrs {
		b = appendString(b, x.Name)
		b = appendString(b, string(x.Value))
	}
	b = binary.AppendUvarint(b, uint64(len(n.Content)))
	for _, id := range n.Content {
		b = append(b, id[:]...)
	}
	if n.Type == source.TypeDir {
		b = append(b, n.Subtree[:]...)
	}
	return b
}

// treeDecoder reads a tree blob; the first error sticks.
type treeDecoder struct {
	b   []byte
	err error
}

func (d *treeDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("tree: "+format, args...)
	}
}

func (d *treeDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *treeDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) { // the encoding is minimal
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *treeDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *treeDecoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *treeDecoder) string() string { return string(d.bytes(d.uvarint())) }

func (d *treeDecoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail("bad time")
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *treeDecoder) id() (id ID) {
	copy(id[:], d.bytes(uint64(len(id))))
	return id
}

// count reads a count of items that take at least min bytes each.
func (d *treeDecoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) || n > maxTreeNodes {
		d.fail("count %d exceeds the data", n)
		return 0
	}
	return int(n)
}

// decodeTree parses and checks a tree blob. Names must be valid path
// elements in strictly increasing order, so a tree can never direct a
// restore outside its target.
func decodeTree(data []byte) (*Tree, error) {
	d := &treeDecoder{b: data}
	if v := d.byte(); d.err == nil && v != treeVersion {
		return nil, fmt.Errorf("tree version %d: %w", v, ErrUnsupportedVersion)
	}
	flags := d.byte()
	t := new(Tree)
	if flags&^treeHasSelf != 0 {
		d.fail("unknown flags %#x", flags)
	}
	if flags&treeHasSelf != 0 {
		t.Self = new(Node)
		d.node(t.Self)
		if d.err == nil && (t.Self.Path != "." || t.Self.Type != source.TypeDir) {
			d.fail("root entry is not the directory \".\"")
		}
	}
	t.Nodes = make([]Node, d.count(20))
	for i := range t.Nodes {
		d.node(&t.Nodes[i])
		if d.err == nil && !source.ValidName(t.Nodes[i].Path) {
			d.fail("invalid name %q", t.Nodes[i].Path)
		}
		if d.err == nil && i > 0 && t.Nodes[i-1].Path >= t.Nodes[i].Path {
			d.fail("names out of order: %q after %q", t.Nodes[i].Path, t.Nodes[i-1].Path)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %w", d.err, ErrCorrupt)
	}
	return t, nil
}

func (d *treeDecoder) node(n *Node) {
	n.Path = d.string()
	n.Type = source.Type(d.byte())
	if d.err == nil && !n.Type.Valid() {
		d.fail("entry %q: unknown type %d", n.Path, n.Type)
	}
	perm := d.uvarint()
	if perm > 0o7777 {
		d.fail("entry %q: bad mode %o", n.Path, perm)
	}
	n.Perm = source.PermFromUnix(uint32(perm))
	n.UID, n.GID = d.uint32(), d.uint32()
	n.User, n.Group = d.string(), d.string()
	n.Size = int64(d.uvarint())
	if n.Size < 0 {
		d.fail("entry %q: bad size", n.Path)
	}
	n.ModTime, n.ChangeTime = d.time(), d.time()
	n.Inode, n.Device, n.Links = d.uvarint(), d.uvarint(), d.uvarint()
	n.Hardlink, n.LinkTarget = d.string(), d.string()
	n.Rdev = d.uvarint()
	flags := d.byte()
	if flags&^nodeSparse != 0 {
		d.fail("entry %q: unknown flags %#x", n.Path, flags)
	}
	n.Sparse = flags&nodeSparse != 0
	d.xattrs(n)
	d.content(n)
}

func (d *treeDecoder) uint32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("id %d out of range", v)
	}
	return uint32(v)
}

func (d *treeDecoder) xattrs(n *Node) {
	if c := d.count(2); c > 0 {
		n.Xattrs = make([]source.Xattr, c)
		for i := range n.Xattrs {
			n.Xattrs[i] = source.Xattr{Name: d.string(), Value: []byte(d.string())}
			if d.err == nil && i > 0 && n.Xattrs[i-1].Name >= n.Xattrs[i].Name {
				d.fail("entry %q: xattrs out of order", n.Path)
			}
		}
	}
}

func (d *treeDecoder) content(n *Node) {
	c := d.count(len(ID{}))
	if c > 0 && (n.Type != source.TypeFile || n.Hardlink != "") {
		d.fail("entry %q: content on a %s", n.Path, n.Type)
	}
	if c > 0 {
		n.Content = make([]ID, c)
		for i := range n.Content {
			n.Content[i] = d.id()
		}
	}
	if n.Type == source.TypeDir {
		n.Subtree = d.id()
	}
	if d.err == nil && n.Hardlink != "" && (n.Type != source.TypeFile || source.ValidPath(n.Hardlink) != nil || n.Hardlink == ".") {
		d.fail("entry %q: bad hard link %q", n.Path, n.Hardlink)
	}
	if d.err == nil && n.LinkTarget != "" && n.Type != source.TypeSymlink {
		d.fail("entry %q: link target on a %s", n.Path, n.Type)
	}
	if d.err == nil && strings.ContainsRune(n.LinkTarget, 0) {
		d.fail("entry %q: NUL in link target", n.Path)
	}
}
