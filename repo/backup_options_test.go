package repo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func TestMaxInFlightDefaults(t *testing.T) {
	for _, c := range []struct {
		set      int64
		chunkMax uint32
		want     int64
	}{
		{0, 8 << 20, DefaultMaxInFlight},
		{1, 8 << 20, 17 << 20},
		{32 << 20, 8 << 20, 32 << 20},
		{0, 64 << 20, 129 << 20},
	} {
		t.Run(fmt.Sprint(c.set, "/", c.chunkMax), func(t *testing.T) {
			o, err := BackupOptions{Host: "h", MaxInFlight: c.set}.withDefaults(c.chunkMax)
			require.NoError(t, err)
			require.Equal(t, c.want, o.MaxInFlight)
		})
	}
}

// TestBackupTinyMaxInFlight backs up with the least MaxInFlight while the
// buffer pool holds buffers larger than the largest chunk, as it does after
// a chunk's buffer grew by append. Raised only to the largest chunk, the cap
// made the first reader to draw such a buffer wait forever.
func TestBackupTinyMaxInFlight(t *testing.T) {
	r := smallChunks(t) // chunks of up to 64 KiB
	for range 16 {
		buf := make([]byte, 0, 64<<10+48<<10)
		chunkBuffers.Put(&buf)
	}
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for i := range 4 {
		src.add(source.Entry{Path: fmt.Sprint("f", i), Type: source.TypeFile, Inode: uint64(i + 1)}, randomBytes(uint64(i), 300<<10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sn, err := r.Backup(ctx, src, BackupOptions{Host: "h", MaxInFlight: 1})
	require.NoError(t, err)
	require.EqualValues(t, 4*300<<10, sn.Summary.BytesRead)
}
