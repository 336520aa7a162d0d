package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/internal/tests3"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/s3"
	"github.com/cairnbackup/cairn/source/fs"
)

// BenchmarkS3 compares the local backend with an S3-compatible server on
// loopback (VersityGW, serving a directory on the same disk) on the same
// data: a first backup, an unchanged re-backup and a restore. Each run
// also reports the backend requests it made and the bytes it sent and
// received.
func BenchmarkS3(b *testing.B) {
	srv := tests3.Start(b)
	var buckets atomic.Int64
	openS3 := func(b *testing.B) backend.Backend {
		be, err := s3.Open(context.Background(), srv.Config(fmt.Sprintf("bench-%d", buckets.Add(1)), "repo"))
		if err != nil {
			b.Fatal(err)
		}
		return be
	}
	stores := []struct {
		name  string
		open  func(b *testing.B) backend.Backend
		cache bool
	}{
		{"local", func(b *testing.B) backend.Backend { return local.New(scratch(b, "repo")) }, false},
		{"s3", openS3, false},
		{"s3-cached", openS3, true},
	}
	for _, ds := range dataSets {
		for _, st := range stores {
			b.Run(ds.name+"/"+st.name, func(b *testing.B) {
				var opts repo.OpenOptions
				if st.cache {
					opts.CacheDir = scratch(b, "cache")
				}
				benchStore(b, ds.get(b), st.open, opts)
			})
		}
	}
}

// benchStore runs the three steps against fresh repositories in stores
// open makes, opened with opts.
func benchStore(b *testing.B, d *dataSet, open func(*testing.B) backend.Backend, opts repo.OpenOptions) {
	ctx := context.Background()
	var fb *fault.Backend
	var sn *repo.Snapshot
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			fb = fault.New(open(b))
			r, err := repo.Init(ctx, fb, password, repo.InitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			settle()
			before := fb.Counts()
			b.StartTimer()
			if sn, err = r.Backup(ctx, fs.Dir(d.dir, fs.Options{}), repo.BackupOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportRequests(b, before, fb.Counts())
			b.StartTimer()
		}
		report(b, d)
	})
	b.Run("unchanged", func(b *testing.B) {
		// A first re-backup fills a cache with what the backup did not
		// put there itself (tree packs).
		if opts.CacheDir != "" {
			r2, err := repo.Open(ctx, fb, password, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r2.Backup(ctx, fs.Dir(d.dir, fs.Options{}), repo.BackupOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			b.StopTimer()
			// A new process: open, then back up.
			before := fb.Counts()
			b.StartTimer()
			r2, err := repo.Open(ctx, fb, password, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r2.Backup(ctx, fs.Dir(d.dir, fs.Options{}), repo.BackupOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportRequests(b, before, fb.Counts())
			b.StartTimer()
		}
		report(b, d)
	})
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dst := scratch(b, "restore")
			settle()
			before := fb.Counts()
			b.StartTimer()
			// A new process: open, then restore.
			r2, err := repo.Open(ctx, fb, password, opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := r2.Restore(ctx, sn.ID, fs.Into(dst, fs.TargetOptions{}), repo.RestoreOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportRequests(b, before, fb.Counts())
			b.StartTimer()
		}
		report(b, d)
	})
}

// reportRequests reports one run's backend calls and traffic.
func reportRequests(b *testing.B, before, after fault.Counts) {
	calls := (after.Save + after.Load + after.Stat + after.List + after.Remove) -
		(before.Save + before.Load + before.Stat + before.List + before.Remove)
	b.ReportMetric(float64(calls), "requests")
	b.ReportMetric(float64(after.BytesLoaded-before.BytesLoaded)/1e6, "MB-down")
	b.ReportMetric(float64(after.BytesSaved-before.BytesSaved)/1e6, "MB-up")
}
