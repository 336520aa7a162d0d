package repo

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func backupSample(t *testing.T) (*Repository, *testSource, *Snapshot) {
	t.Helper()
	r := smallChunks(t)
	src := sampleSource()
	sn, err := r.Backup(context.Background(), src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	return r, src, sn
}

func TestRestoreSelection(t *testing.T) {
	r, src, sn := backupSample(t)
	for _, tt := range []struct {
		name string
		opts RestoreOptions
		want []string
	}{
		{"include file", RestoreOptions{Include: []string{"b"}}, []string{".", "b"}},
		{"include in dir", RestoreOptions{Include: []string{"/a/empty"}}, []string{".", "a", "a/empty"}},
		{"exclude dir", RestoreOptions{Exclude: []string{"a"}}, []string{".", "b", "c", "fifo", "new\nline ü"}},
		{"sub path", RestoreOptions{Path: "a"}, []string{".", "big", "empty", "link", "z"}},
		{"sub path exclude", RestoreOptions{Path: "/a/", Exclude: []string{"*.x", "big"}}, []string{".", "empty", "link", "z"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemTarget()
			require.NoError(t, r.Restore(context.Background(), sn.ID, m, tt.opts))
			require.Equal(t, tt.want, m.order)
		})
	}
	// The hard link "c" to an excluded "a/big" gets the content instead.
	m := newMemTarget()
	require.NoError(t, r.Restore(context.Background(), sn.ID, m, RestoreOptions{Include: []string{"c"}}))
	require.Empty(t, m.entries["c"].Hardlink)
	require.Equal(t, src.data["a/big"], m.data["c"])

	_, err := newRestorer(r, m, RestoreOptions{Path: "../a"})
	require.ErrorIs(t, err, source.ErrUnsafePath)
	err = r.Restore(context.Background(), sn.ID, m, RestoreOptions{Path: "b"})
	require.ErrorIs(t, err, ErrNotFound)
}

// A hard link whose target comes later in tree order (as a tar stream may
// give) gets the content, and the later target becomes the link.
func TestRestoreHardlinkBeforeTarget(t *testing.T) {
	ctx := context.Background()
	r := smallChunks(t)
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir}, nil)
	src.add(source.Entry{Path: "z", Type: source.TypeFile}, []byte("content"))
	src.add(source.Entry{Path: "a", Type: source.TypeFile, Hardlink: "z"}, nil)
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	m := newMemTarget()
	require.NoError(t, r.Restore(ctx, sn.ID, m, RestoreOptions{}))
	require.Equal(t, []string{".", "a", "z"}, m.order)
	require.Equal(t, "content", string(m.data["a"]))
	require.Equal(t, "a", m.entries["z"].Hardlink)
}

func TestRestoreRefusesHostileSnapshot(t *testing.T) {
	for name, node := range map[string]Node{
		"dot dot":         {Entry: source.Entry{Path: "..", Type: source.TypeFIFO}},
		"slash":           {Entry: source.Entry{Path: "a/../../x", Type: source.TypeFIFO}},
		"absolute":        {Entry: source.Entry{Path: "/etc", Type: source.TypeFIFO}},
		"hardlink escape": {Entry: source.Entry{Path: "x", Type: source.TypeFile, Hardlink: "../../etc/passwd"}},
		"hardlink abs":    {Entry: source.Entry{Path: "x", Type: source.TypeFile, Hardlink: "/etc/passwd"}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r := smallChunks(t)
			w := r.NewWriter()
			id, _, err := w.SaveBlob(ctx, TreeBlob, encodeTree(nil, &Tree{Nodes: []Node{node}}))
			require.NoError(t, err)
			sn := &Snapshot{Time: time.Now(), Host: "evil", Tree: id}
			_, err = w.SaveSnapshot(ctx, sn)
			require.NoError(t, err)

			m := newMemTarget()
			err = r.Restore(ctx, sn.ID, m, RestoreOptions{})
			require.ErrorIs(t, err, ErrCorrupt)
			require.Empty(t, m.entries)
		})
	}
}

// tamperTarget reads back different content than was written.
type tamperTarget struct{ *memTarget }

func (tamperTarget) ReadBack(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("HELLO\n")), nil
}

func TestRestoreVerify(t *testing.T) {
	r, _, sn := backupSample(t)
	err := r.Restore(context.Background(), sn.ID, tamperTarget{newMemTarget()}, RestoreOptions{Verify: true, Include: []string{"b"}})
	require.ErrorContains(t, err, "content differs")

	var noReadBack struct{ source.Target }
	noReadBack.Target = parallelTarget{newMemTarget()}
	err = r.Restore(context.Background(), sn.ID, noReadBack, RestoreOptions{Verify: true})
	require.ErrorContains(t, err, "cannot read back")
}

func TestRestoreTargetError(t *testing.T) {
	r, _, sn := backupSample(t)
	m := newMemTarget()
	m.failPut = errors.New("disk full")
	err := r.Restore(context.Background(), sn.ID, parallelTarget{m}, RestoreOptions{})
	require.ErrorContains(t, err, "disk full")
	require.False(t, m.closed)
}

func TestRestoreProgress(t *testing.T) {
	r, _, sn := backupSample(t)
	var last RestoreProgress
	err := r.Restore(context.Background(), sn.ID, parallelTarget{newMemTarget()}, RestoreOptions{
		Verify: true, Progress: func(p RestoreProgress) { last = p }})
	require.NoError(t, err)
	require.True(t, last.Done)
	require.EqualValues(t, 5, last.Files)
	require.EqualValues(t, 4, last.Verified)
	require.EqualValues(t, 3, last.Dirs)
	require.EqualValues(t, 2, last.Other)
	require.EqualValues(t, 300<<10+14, last.Bytes)
}
