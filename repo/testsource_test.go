package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// testSource yields a fixed list of entries; file content comes from data,
// keyed by path. It counts what is opened and read.
type testSource struct {
	entries []source.Entry
	data    map[string][]byte
	openErr map[string]error
	opens   atomic.Int64
	read    atomic.Int64
	seq     bool
}

func (s *testSource) Info() source.Info {
	return source.Info{Kind: "test", Description: "test source", Paths: []string{"/test"}}
}

func (s *testSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	for _, e := range s.entries {
		if e.Type == source.TypeFile && e.Hardlink == "" {
			e.Open = func() (io.ReadCloser, error) {
				s.opens.Add(1)
				if err := s.openErr[e.Path]; err != nil {
					return nil, err
				}
				return io.NopCloser(&countedReader{r: bytes.NewReader(s.data[e.Path]), n: &s.read}), nil
			}
		}
		if err := fn(&e); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

type countedReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// seqSource marks a testSource as sequential.
type seqSource struct{ *testSource }

func (seqSource) Sequential() {}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

// add appends an entry; files get content.
func (s *testSource) add(e source.Entry, content []byte) {
	if e.ModTime.IsZero() {
		e.ModTime, e.ChangeTime = t0, t0
	}
	if e.Perm == 0 {
		e.Perm = 0o644
	}
	if e.Type == source.TypeFile && e.Hardlink == "" {
		if s.data == nil {
			s.data = map[string][]byte{}
		}
		s.data[e.Path] = content
		e.Size = int64(len(content))
	}
	s.entries = append(s.entries, e)
}

// sampleSource is a small tree with every entry type.
func sampleSource() *testSource {
	s := &testSource{}
	s.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	s.add(source.Entry{Path: "a", Type: source.TypeDir, Perm: 0o700}, nil)
	s.add(source.Entry{Path: "a/big", Type: source.TypeFile, Inode: 10, Links: 2, Device: 7}, randomBytes(1, 300<<10))
	s.add(source.Entry{Path: "a/empty", Type: source.TypeFile, Inode: 11}, nil)
	s.add(source.Entry{Path: "a/link", Type: source.TypeSymlink, LinkTarget: "../x"}, nil)
	s.add(source.Entry{Path: "a/z", Type: source.TypeDir, Perm: 0o755 | fs.ModeSticky}, nil)
	s.add(source.Entry{Path: "b", Type: source.TypeFile, Inode: 12, Perm: 0o755 | fs.ModeSetuid,
		Xattrs: []source.Xattr{{Name: "user.a", Value: []byte("1")}}}, []byte("hello\n"))
	s.add(source.Entry{Path: "c", Type: source.TypeFile, Inode: 10, Links: 2, Device: 7, Hardlink: "a/big"}, nil)
	s.add(source.Entry{Path: "fifo", Type: source.TypeFIFO}, nil)
	s.add(source.Entry{Path: "new\nline ü", Type: source.TypeFile, Inode: 13}, []byte("odd name"))
	return s
}

// memTarget records what a restore puts.
type memTarget struct {
	mu      sync.Mutex
	entries map[string]source.Entry
	order   []string
	data    map[string][]byte
	closed  bool
	failPut error
}

func newMemTarget() *memTarget {
	return &memTarget{entries: map[string]source.Entry{}, data: map[string][]byte{}}
}

func (m *memTarget) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if m.failPut != nil {
		return m.failPut
	}
	var b []byte
	if content != nil {
		var err error
		if b, err = io.ReadAll(content); err != nil {
			return err
		}
		if int64(len(b)) != e.Size {
			return errors.New("short content")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[e.Path] = *e
	m.order = append(m.order, e.Path)
	m.data[e.Path] = b
	return nil
}

func (m *memTarget) Close(context.Context) error { m.closed = true; return nil }

func (m *memTarget) ReadBack(_ context.Context, p string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return io.NopCloser(bytes.NewReader(m.data[p])), nil
}

// parallelTarget is a memTarget that takes files concurrently.
type parallelTarget struct{ *memTarget }

func (parallelTarget) Parallel() bool { return true }

// requireRestored checks that tgt holds every entry of src with its
// metadata and content.
func requireRestored(t *testing.T, src *testSource, tgt *memTarget) {
	t.Helper()
	require.True(t, tgt.closed)
	require.Len(t, tgt.entries, len(src.entries))
	for _, want := range src.entries {
		got, ok := tgt.entries[want.Path]
		require.True(t, ok, want.Path)
		want.Open, got.Open = nil, nil
		if want.Links <= 1 {
			want.Device = 0
		}
		require.Equal(t, want, got, want.Path)
		if want.Type == source.TypeFile && want.Hardlink == "" {
			require.Equal(t, string(src.data[want.Path]), string(tgt.data[want.Path]), want.Path)
		}
	}
}

func smallChunks(t testing.TB) *Repository {
	t.Helper()
	r, err := Init(context.Background(), mem.New(), testPassword, InitOptions{Key: cheapKey,
		Chunking: chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}})
	require.NoError(t, err)
	return r
}
