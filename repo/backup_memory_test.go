package repo

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// manySource yields dirs × files empty files without holding them.
type manySource struct{ dirs, files int }

func (s manySource) Info() source.Info { return source.Info{Kind: "many"} }

func (s manySource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	e := source.Entry{Path: ".", Type: source.TypeDir, ModTime: t0}
	if err := fn(&e); err != nil {
		return err
	}
	for d := range s.dirs {
		dir := fmt.Sprintf("dir-%04d", d)
		e := source.Entry{Path: dir, Type: source.TypeDir, ModTime: t0}
		if err := fn(&e); err != nil {
			return err
		}
		for f := range s.files {
			e := source.Entry{Path: fmt.Sprintf("%s/file-%04d", dir, f), Type: source.TypeFile,
				ModTime: t0, Inode: uint64(d*s.files + f), Open: emptyContent}
			if err := fn(&e); err != nil {
				return err
			}
		}
	}
	return nil
}

func emptyContent() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }

func TestBackupMillionFilesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million files take a few seconds")
	}
	r := smallChunks(t)
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	sn, err := r.Backup(context.Background(), manySource{dirs: 1000, files: 1000}, BackupOptions{Host: "h"})
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.EqualValues(t, 1_000_000, sn.Summary.FilesNew)
	require.EqualValues(t, 1001, sn.Summary.Dirs)
	t.Logf("peak heap in use: %.1f MB", float64(peak.Load())/1e6)
	// The tree of a million files is never held whole: 1000 listings of
	// 1000 entries at a time, plus queues and buffers.
	require.Less(t, peak.Load(), uint64(200<<20))
}
