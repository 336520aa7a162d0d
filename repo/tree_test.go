package repo

import (
	"testing"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func sampleTree() *Tree {
	self := Node{Entry: source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755, ModTime: t0}}
	return &Tree{Self: &self, Nodes: []Node{
		{Entry: source.Entry{Path: "a", Type: source.TypeFile, Perm: 0o644, UID: 1000, GID: 100, User: "u", Group: "g",
			Size: 3, ModTime: t0, ChangeTime: t0, Inode: 5, Device: 9, Links: 2, Sparse: true,
			Xattrs: []source.Xattr{{Name: "user.x", Value: []byte{0, 1}}, {Name: "user.y", Value: []byte{}}}},
			Content: []ID{{1}, {2}}},
		{Entry: source.Entry{Path: "b", Type: source.TypeFile, Hardlink: "a", Links: 2}},
		{Entry: source.Entry{Path: "d", Type: source.TypeDir}, Subtree: ID{3}},
		{Entry: source.Entry{Path: "dev", Type: source.TypeCharDevice, Rdev: 0x103}},
		{Entry: source.Entry{Path: "l", Type: source.TypeSymlink, LinkTarget: "/abs/target"}},
	}}
}

func TestTreeRoundTrip(t *testing.T) {
	tree := sampleTree()
	data := encodeTree(nil, tree)
	got, err := decodeTree(data)
	require.NoError(t, err)
	require.Equal(t, tree.Self.ModTime, got.Self.ModTime)
	got.Self.ModTime = tree.Self.ModTime
	require.Equal(t, tree, got)
	require.Equal(t, data, encodeTree(nil, got), "deterministic")
	require.Equal(t, &got.Nodes[2], got.Find("d"))
	require.Nil(t, got.Find("c"))
}

func TestTreeDecodeRejects(t *testing.T) {
	good := encodeTree(nil, sampleTree())
	for i := range good {
		_, err := decodeTree(good[:i])
		require.ErrorIs(t, err, ErrCorrupt, "truncated at %d", i)
	}
	_, err := decodeTree(append(good, 0))
	require.ErrorIs(t, err, ErrCorrupt)
	v2 := append([]byte{2}, good[1:]...)
	_, err = decodeTree(v2)
	require.ErrorIs(t, err, ErrUnsupportedVersion)

	for name, nodes := range map[string][]Node{
		"order":          {{Entry: source.Entry{Path: "b", Type: source.TypeFIFO}}, {Entry: source.Entry{Path: "a", Type: source.TypeFIFO}}},
		"duplicate":      {{Entry: source.Entry{Path: "a", Type: source.TypeFIFO}}, {Entry: source.Entry{Path: "a", Type: source.TypeFIFO}}},
		"empty name":     {{Entry: source.Entry{Path: "", Type: source.TypeFIFO}}},
		"nul":            {{Entry: source.Entry{Path: "a\x00", Type: source.TypeFIFO}}},
		"bad type":       {{Entry: source.Entry{Path: "a", Type: 99}}},
		"dir content":    {{Entry: source.Entry{Path: "a", Type: source.TypeDir}, Content: []ID{{1}}}},
		"link content":   {{Entry: source.Entry{Path: "a", Type: source.TypeFile, Hardlink: "b"}, Content: []ID{{1}}}},
		"link on dir":    {{Entry: source.Entry{Path: "a", Type: source.TypeDir, Hardlink: "b"}}},
		"target on file": {{Entry: source.Entry{Path: "a", Type: source.TypeFile, LinkTarget: "b"}}},
		"xattr order": {{Entry: source.Entry{Path: "a", Type: source.TypeFIFO,
			Xattrs: []source.Xattr{{Name: "b"}, {Name: "a"}}}}},
	} {
		_, err := decodeTree(encodeTree(nil, &Tree{Nodes: nodes}))
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
	bad := &Tree{Self: &Node{Entry: source.Entry{Path: "x", Type: source.TypeDir}}}
	_, err = decodeTree(encodeTree(nil, bad))
	require.ErrorIs(t, err, ErrCorrupt, "self not named .")
}

func FuzzDecodeTree(f *testing.F) {
	f.Add(encodeTree(nil, sampleTree()))
	f.Add(encodeTree(nil, &Tree{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := decodeTree(data)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes, and every name is safe.
		require.Equal(t, data, encodeTree(nil, tree))
		for _, n := range tree.Nodes {
			require.True(t, source.ValidName(n.Path))
		}
	})
}
