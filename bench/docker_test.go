package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
	"github.com/moby/moby/client"
)

// volumeSize is the data BenchmarkVolume puts into its volume: half random,
// half compressible text, in 64 files.
const volumeSize = 256 << 20

// BenchmarkVolume measures a first backup of a Docker volume and a
// restore into a new volume, in both read modes. The volume is filled
// through its mountpoint, so it needs root and a local daemon.
func BenchmarkVolume(b *testing.B) {
	ctx := context.Background()
	cli, vol := benchVolume(b)
	files, bytes := 64, int64(volumeSize)
	for _, mode := range []docker.Mode{docker.ModeDirect, docker.ModeHelper} {
		var snap *repo.Snapshot
		var r *repo.Repository
		b.Run("backup/"+mode.String(), func(b *testing.B) {
			var worst [2]float64
			for b.Loop() {
				b.StopTimer()
				r = newRepo(b)
				src, err := docker.Open(ctx, cli, vol, docker.Options{Mode: mode})
				if err != nil {
					b.Fatal(err)
				}
				settle()
				p := startPeak()
				b.StartTimer()
				if snap, err = r.Backup(ctx, src, repo.BackupOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.report(b, &worst)
				b.StartTimer()
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(files)/(b.Elapsed().Seconds()/float64(b.N)), "files/s")
		})
		b.Run("restore/"+mode.String(), func(b *testing.B) {
			var worst [2]float64
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				name := fmt.Sprintf("%s-restore-%s-%d", vol, mode, i)
				b.Cleanup(func() { cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true}) })
				settle()
				p := startPeak()
				b.StartTimer()
				err := docker.RestoreVolume(ctx, cli, name, docker.RestoreOptions{Mode: mode, Create: true},
					func(ctx context.Context, t source.Target) error {
						return r.Restore(ctx, snap.ID, t, repo.RestoreOptions{})
					})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.report(b, &worst)
				b.StartTimer()
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(files)/(b.Elapsed().Seconds()/float64(b.N)), "files/s")
		})
	}
}

// benchVolume creates a volume and fills it, or skips the benchmark.
func benchVolume(b *testing.B) (*client.Client, string) {
	if os.Geteuid() != 0 {
		b.Skip("fills the volume through its mountpoint, which needs root")
	}
	cli, err := docker.NewClient()
	if err != nil {
		b.Skip("no Docker client:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		b.Skip("no Docker daemon (set DOCKER_HOST or start dockerd):", err)
	}
	name := fmt.Sprintf("cairn-bench-%d", time.Now().UnixNano())
	res, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true}) })
	if err := fillVolume(res.Volume.Mountpoint); err != nil {
		b.Fatal(err)
	}
	return cli, name
}

func fillVolume(dir string) error {
	rng := rand.NewChaCha8([32]byte{2})
	line := []byte("2026-11-21T10:00:00 level=info msg=\"request served\" status=200 bytes=5120\n")
	for i := range 64 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("file-%02d", i)))
		if err != nil {
			return err
		}
		var r io.Reader = io.LimitReader(rng, volumeSize/64)
		if i%2 == 1 {
			r = io.LimitReader(repeat(line), volumeSize/64)
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// repeat yields b over and over.
func repeat(b []byte) io.Reader {
	return &repeater{b: b}
}

type repeater struct {
	b   []byte
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}
