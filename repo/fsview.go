package repo

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// SnapshotFS is a read-only io/fs view of a snapshot: browse it, open a
// file and stream or seek in it without restoring anything. It implements
// fs.FS, fs.ReadDirFS, fs.StatFS and fs.ReadLinkFS; FileInfo.Sys returns
// the *Node with all metadata. Open follows symbolic links that stay
// inside the snapshot. Files implement io.Seeker and io.ReaderAt. It is
// safe for concurrent use; its I/O runs under the context given to FS.
type SnapshotFS struct {
	r    *Repository
	ctx  context.Context
	root *Tree
	self Node

	mu    sync.Mutex
	trees map[ID]*Tree // recently used trees
}

// maxCachedTrees bounds SnapshotFS's tree cache.
const maxCachedTrees = 256

// maxLinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

var (
	_ fs.ReadDirFS  = (*SnapshotFS)(nil)
	_ fs.StatFS     = (*SnapshotFS)(nil)
	_ fs.ReadLinkFS = (*SnapshotFS)(nil)
)

// FS returns an io/fs view of snapshot id.
func (r *Repository) FS(ctx context.Context, id ID) (*SnapshotFS, error) {
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	root, err := r.LoadTree(ctx, sn.Tree)
	if err != nil {
		return nil, err
	}
	f := &SnapshotFS{r: r, ctx: ctx, root: root, trees: map[ID]*Tree{}}
	f.self = Node{Entry: source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755, ModTime: sn.Time}, Subtree: sn.Tree}
	if root.Self != nil {
		f.self = *root.Self
		f.self.Subtree = sn.Tree
	}
	return f, nil
}

func (f *SnapshotFS) tree(id ID) (*Tree, error) {
	f.mu.Lock()
	t, ok := f.trees[id]
	f.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := f.r.LoadTree(f.ctx, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if len(f.trees) >= maxCachedTrees {
		clear(f.trees)
	}
	f.trees[id] = t
	f.mu.Unlock()
	return t, nil
}

// resolve finds the node for name, following symbolic links on the way
// and, if follow is set, at the end. It returns the node and its path.
func (f *SnapshotFS) resolve(op, name string, follow bool) (*Node, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, p, err := f.walk(name, follow, 0)
	if err != nil {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, p, nil
}

func (f *SnapshotFS) walk(name string, follow bool, hops int) (*Node, string, error) {
	n, dir := &f.self, "."
	if name == "." {
		return n, ".", nil
	}
	elems := strings.Split(name, "/")
	for i, elem := range elems {
		if n.Type != source.TypeDir {
			return nil, "", fs.ErrNotExist
		}
		t, err := f.tree(n.Subtree)
		if err != nil {
			return nil, "", err
		}
		if n = t.Find(elem); n == nil {
			return nil, "", fs.ErrNotExist
		}
		last := i == len(elems)-1
		if n.Type == source.TypeSymlink && (!last || follow) {
			if hops >= maxLinkHops {
				return nil, "", errors.New("too many levels of symbolic links")
			}
			target := path.Join(dir, n.LinkTarget)
			if path.IsAbs(n.LinkTarget) || !fs.ValidPath(target) {
				return nil, "", errors.New("symbolic link leaves the snapshot")
			}
			rest := path.Join(append([]string{target}, elems[i+1:]...)...)
			return f.walk(rest, follow, hops+1)
		}
		dir = joinPath(dir, elem)
	}
	return n, dir, nil
}

// Open opens the named file or directory.
func (f *SnapshotFS) Open(name string) (fs.File, error) {
	n, p, err := f.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info := nodeInfo{n: n, name: path.Base(name)}
	if n.Type == source.TypeDir {
		return &snapDir{fsys: f, info: info, path: p}, nil
	}
	content := n.Content
	if n.Hardlink != "" {
		target, _, err := f.resolve("open", n.Hardlink, false)
		if err != nil {
			return nil, err
		}
		content = target.Content
	}
	return f.newFile(info, content)
}

// Stat describes the named file, following symbolic links.
func (f *SnapshotFS) Stat(name string) (fs.FileInfo, error) {
	n, _, err := f.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return nodeInfo{n: n, name: path.Base(name)}, nil
}

// Lstat describes the named file without following a final symbolic link.
func (f *SnapshotFS) Lstat(name string) (fs.FileInfo, error) {
	n, _, err := f.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return nodeInfo{n: n, name: path.Base(name)}, nil
}

// ReadLink returns the target of a symbolic link.
func (f *SnapshotFS) ReadLink(name string) (string, error) {
	n, _, err := f.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.Type != source.TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.LinkTarget, nil
}

// ReadDir lists the named directory, sorted by name.
func (f *SnapshotFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, _, err := f.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.Type != source.TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	t, err := f.tree(n.Subtree)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	list := make([]fs.DirEntry, len(t.Nodes))
	for i := range t.Nodes {
		list[i] = fs.FileInfoToDirEntry(nodeInfo{n: &t.Nodes[i], name: t.Nodes[i].Path})
	}
	return list, nil
}

// nodeInfo is a Node as fs.FileInfo.
type nodeInfo struct {
	n    *Node
	name string
}

func (i nodeInfo) Name() string       { return i.name }
func (i nodeInfo) Size() int64        { return i.n.Size }
func (i nodeInfo) Mode() fs.FileMode  { return i.n.Mode() }
func (i nodeInfo) ModTime() time.Time { return i.n.ModTime }
func (i nodeInfo) IsDir() bool        { return i.n.Type == source.TypeDir }
func (i nodeInfo) Sys() any           { return i.n }
