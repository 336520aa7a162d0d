package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

// testConcurrent has many goroutines save, read back and list at once. Run it
// with -race. The goroutines report errors instead of calling require, which
// may only stop the test from the test's own goroutine.
func testConcurrent(t *testing.T, be backend.Backend) {
	const workers, perWorker = 16, 20
	shared := randomHandle(t, backend.PackFile)
	sharedData := randomBytes(t, 64<<10)
	save(t, be, shared, sharedData)

	names := make([][]string, workers)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		for range perWorker {
			names[w] = append(names[w], randomName(t))
		}
		data := randomBytes(t, 8192)
		wg.Go(func() { errs[w] = concurrentWorker(t, be, names[w], data, shared, sharedData) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	want := map[string]int64{shared.Name: int64(len(sharedData))}
	for w := range workers {
		for i, name := range names[w] {
			want[name] = int64(i * 100)
		}
	}
	require.Equal(t, want, list(t, be, backend.PackFile))
}

func concurrentWorker(t *testing.T, be backend.Backend, names []string, data []byte, shared backend.Handle, sharedData []byte) error {
	ctx := t.Context()
	for i, name := range names {
		h := backend.Handle{Type: backend.PackFile, Name: name}
		content := data[:i*100]
		if err := be.Save(ctx, h, backend.NewByteReader(content)); err != nil {
			return err
		}
		got, err := load(ctx, be, h, 0, 0)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content) {
			return fmt.Errorf("%v: wrong content", h)
		}
		got, err = load(ctx, be, shared, 1000, int64(i*1000))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, sharedData[i*1000:i*1000+1000]) {
			return fmt.Errorf("%v: wrong range at %d", shared, i*1000)
		}
		if fi, err := be.Stat(ctx, h); err != nil || fi.Size != int64(len(content)) {
			return fmt.Errorf("%v: stat: %v, %v", h, fi, err)
		}
		if i%5 == 0 {
			// Others are saving meanwhile, so this goroutine can only check
			// that what it saved already is listed.
			seen := make(map[string]bool)
			err := be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
				seen[fi.Name] = true
				return nil
			})
			if err != nil {
				return err
			}
			for _, done := range names[:i+1] {
				if !seen[done] {
					return fmt.Errorf("saved pack %s not listed", done)
				}
			}
		}
	}
	return nil
}

// testConcurrentSaveSameHandle races goroutines to save different content
// under one name: exactly one must win, the rest fail with ErrExists, and the
// object must be the winner's, whole.
func testConcurrentSaveSameHandle(t *testing.T, be backend.Backend) {
	const racers = 8
	for round := range 10 {
		h := randomHandle(t, backend.LockFile)
		contents := make([][]byte, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			contents[i] = randomBytes(t, 50_000+i)
			wg.Go(func() { errs[i] = be.Save(t.Context(), h, backend.NewByteReader(contents[i])) })
		}
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: saves %d and %d both succeeded", round, winner, i)
				winner = i
				continue
			}
			require.ErrorIs(t, err, backend.ErrExists, "round %d, save %d", round, i)
		}
		require.NotEqual(t, -1, winner, "round %d: no save succeeded", round)
		requireContent(t, be, h, contents[winner])
	}
	require.Len(t, list(t, be, backend.LockFile), 10)
}
