package bench

import (
	"context"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/fs"
)

const password = "bench"

func newRepo(b *testing.B) *repo.Repository {
	r, err := repo.Init(context.Background(), local.New(scratch(b, "repo")), password, repo.InitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

var dataSets = []struct {
	name string
	get  func(*testing.B) *dataSet
}{
	{"gosrc", goSource},
	{"1GiB", oneGiB},
}

// BenchmarkBackup measures a first backup into an empty repository and an
// unchanged re-backup (which must read no file content).
func BenchmarkBackup(b *testing.B) {
	ctx := context.Background()
	for _, ds := range dataSets {
		b.Run(ds.name+"/first", func(b *testing.B) {
			d := ds.get(b)
			var worst [2]float64
			for b.Loop() {
				b.StopTimer()
				r := newRepo(b)
				settle()
				p := startPeak()
				b.StartTimer()
				if _, err := r.Backup(ctx, fs.Dir(d.dir, fs.Options{}), repo.BackupOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.report(b, &worst)
				b.StartTimer()
			}
			report(b, d)
		})
		b.Run(ds.name+"/unchanged", func(b *testing.B) {
			d := ds.get(b)
			r := newRepo(b)
			src := fs.Dir(d.dir, fs.Options{})
			if _, err := r.Backup(ctx, src, repo.BackupOptions{}); err != nil {
				b.Fatal(err)
			}
			var worst [2]float64
			for b.Loop() {
				b.StopTimer()
				settle()
				p := startPeak()
				b.StartTimer()
				sn, err := r.Backup(ctx, src, repo.BackupOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if sn.Summary.BytesRead != 0 {
					b.Fatalf("unchanged backup read %d bytes", sn.Summary.BytesRead)
				}
				b.StopTimer()
				p.report(b, &worst)
				b.StartTimer()
			}
			report(b, d)
		})
	}
}

// BenchmarkRestore measures restoring a snapshot into an empty directory.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	for _, ds := range dataSets {
		b.Run(ds.name, func(b *testing.B) {
			d := ds.get(b)
			r := newRepo(b)
			sn, err := r.Backup(ctx, fs.Dir(d.dir, fs.Options{}), repo.BackupOptions{})
			if err != nil {
				b.Fatal(err)
			}
			var worst [2]float64
			for b.Loop() {
				b.StopTimer()
				dst := scratch(b, "restore")
				settle()
				p := startPeak()
				b.StartTimer()
				if err := r.Restore(ctx, sn.ID, fs.Into(dst, fs.TargetOptions{}), repo.RestoreOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.report(b, &worst)
				b.StartTimer()
			}
			report(b, d)
		})
	}
}

// settle writes dirty pages back before a timed run, so one run does not
// pay for the writeback of the one before. Nothing is deleted between runs
// either: on file systems mounted with online discard, deletes slow down
// what comes after them (seen here: ext4 with discard on a VM disk).
func settle() { syscall.Sync() }

// report sets throughput figures for one pass over d.
func report(b *testing.B, d *dataSet) {
	b.SetBytes(d.bytes)
	b.ReportMetric(float64(d.files)/(b.Elapsed().Seconds()/float64(b.N)), "files/s")
}
