package drill

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// check compares one restored entry with the snapshot's.
func (c *checker) check(w wanted, got *source.Entry) {
	n, p := w.node, w.path
	switch n.Type {
	case source.TypeFile:
		c.rep.Files++
	case source.TypeDir:
		c.rep.Dirs++
	default:
		c.rep.Other++
	}
	if got.Type != n.Type {
		c.mismatch(p, "type", fmt.Sprintf("a %v, the snapshot has a %v", got.Type, n.Type))
		return
	}
	if n.Type != source.TypeSymlink && got.Perm != n.Perm {
		c.mismatch(p, "mode", fmt.Sprintf("%04o, the snapshot has %04o", source.UnixPerm(got.Perm), source.UnixPerm(n.Perm)))
	}
	if !n.ModTime.IsZero() && !got.ModTime.Truncate(c.grain).Equal(n.ModTime.Truncate(c.grain)) {
		c.mismatch(p, "mtime", fmt.Sprintf("%s, the snapshot has %s",
			got.ModTime.UTC().Format(time.RFC3339Nano), n.ModTime.UTC().Format(time.RFC3339Nano)))
	}
	if c.rep.OwnersChecked && (got.UID != n.UID || got.GID != n.GID) {
		c.mismatch(p, "owner", fmt.Sprintf("%d:%d, the snapshot has %d:%d", got.UID, got.GID, n.UID, n.GID))
	}
	switch n.Type {
	case source.TypeSymlink:
		if got.LinkTarget != n.LinkTarget {
			c.mismatch(p, "symlink target", fmt.Sprintf("%q, the snapshot has %q", got.LinkTarget, n.LinkTarget))
		}
	case source.TypeCharDevice, source.TypeBlockDevice:
		if got.Rdev != n.Rdev {
			c.mismatch(p, "device", fmt.Sprintf("%#x, the snapshot has %#x", got.Rdev, n.Rdev))
		}
	case source.TypeFile:
		// A hard link's size is its target's, which the link may not
		// record (tar), and its content was checked there.
		if n.Hardlink == "" && got.Size != n.Size {
			c.mismatch(p, "size", fmt.Sprintf("%d bytes, the snapshot has %d", got.Size, n.Size))
		}
		if key := c.base.linkKey(p, n); key != p || got.Links > 1 {
			c.links = append(c.links, linked{path: p, key: key, dev: got.Device, inode: got.Inode})
		}
	}
	if diff := xattrDiff(userXattrs(got.Xattrs), userXattrs(n.Xattrs)); diff != "" {
		c.mismatch(p, "xattrs", diff)
	}
}

// checkLinks checks that files share an inode exactly when the snapshot
// has them as hard links to each other.
func (c *checker) checkLinks() {
	type inode struct{ dev, ino uint64 }
	groups := map[string]inode{} // group key → the inode of its first file
	owners := map[inode]string{} // inode → the group it belongs to
	files := map[string]bool{}   // paths in c.links
	for _, l := range c.links {
		files[l.path] = true
		id := inode{l.dev, l.inode}
		if g, ok := owners[id]; ok && g != l.key {
			c.mismatch(l.path, "hardlink", "shares its inode with "+g+", which the snapshot does not link it to")
			continue
		}
		owners[id] = l.key
		if first, ok := groups[l.key]; ok && first != id {
			c.mismatch(l.path, "hardlink", "not a hard link to "+l.key)
			continue
		}
		groups[l.key] = id
	}
	for _, l := range c.links {
		if l.key != l.path && !files[l.key] {
			c.mismatch(l.path, "hardlink", "not a hard link to "+l.key)
		}
	}
}

// userXattrs returns the attributes of the user namespace, sorted: those
// of other namespaces belong to the system (security labels, ACLs) and may
// differ or be refused on a scratch file system.
func userXattrs(xs []source.Xattr) []source.Xattr {
	var out []source.Xattr
	for _, x := range xs {
		if strings.HasPrefix(x.Name, "user.") {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b source.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// xattrDiff describes how got differs from want, or returns "".
func xattrDiff(got, want []source.Xattr) string {
	var diffs []string
	for _, w := range want {
		i := slices.IndexFunc(got, func(g source.Xattr) bool { return g.Name == w.Name })
		switch {
		case i < 0:
			diffs = append(diffs, w.Name+" missing")
		case !bytes.Equal(got[i].Value, w.Value):
			diffs = append(diffs, w.Name+" differs")
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w source.Xattr) bool { return w.Name == g.Name }) {
			diffs = append(diffs, g.Name+" not in the snapshot")
		}
	}
	return strings.Join(diffs, ", ")
}
