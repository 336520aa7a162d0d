package repo

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/source"
)

// Node is one entry of a tree: a source.Entry whose Path is its name within
// the directory, plus where its content is.
type Node struct {
	source.Entry
	// Content lists the data blobs of a regular file, in order. Empty for
	// an empty file and for a hard link (Entry.Hardlink set).
	Content []ID
	// Subtree is the tree of a directory.
	Subtree ID
}

// Tree is one directory: its entries sorted by name. The root tree of a
// snapshot also carries the root directory's own metadata as Self.
type Tree struct {
	Self  *Node // only in root trees; its name is "."
	Nodes []Node
}

// Find returns the node named name, or nil.
func (t *Tree) Find(name string) *Node {
	i, ok := slices.BinarySearchFunc(t.Nodes, name, func(n Node, name string) int {
		return cmp.Compare(n.Path, name)
	})
	if !ok {
		return nil
	}
	return &t.Nodes[i]
}

// sortNodes puts nodes in tree order and rejects duplicate names.
func sortNodes(nodes []Node) error {
	slices.SortFunc(nodes, func(a, b Node) int { return cmp.Compare(a.Path, b.Path) })
	for i := 1; i < len(nodes); i++ {
		if nodes[i].Path == nodes[i-1].Path {
			return fmt.Errorf("two entries named %q in one directory", nodes[i].Path)
		}
	}
	return nil
}

// LoadTree loads and decodes the tree blob id.
func (r *Repository) LoadTree(ctx context.Context, id ID) (*Tree, error) {
	data, err := r.LoadBlob(ctx, pack.TreeBlob, id, nil)
	if err != nil {
		return nil, err
	}
	t, err := decodeTree(data)
	if err != nil {
		return nil, &BlobError{Blob: pack.Handle{Type: pack.TreeBlob, ID: id}, Err: err}
	}
	return t, nil
}

// saveTree encodes t and saves it through w.
func saveTree(ctx context.Context, w *Writer, t *Tree, buf []byte) (ID, []byte, error) {
	buf = encodeTree(buf[:0], t)
	id, _, err := w.SaveBlob(ctx, pack.TreeBlob, buf)
	return id, buf, err
}
