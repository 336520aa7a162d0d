package bench

import (
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// dataSet is a directory to back up, made once per run.
type dataSet struct {
	once  sync.Once
	dir   string
	files int
	bytes int64
	err   error
}

var (
	workDir  string
	workOnce sync.Once
	goSrc    dataSet
	bigFile  dataSet
)

func TestMain(m *testing.M) {
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// scratch returns a new directory under the run's work directory.
func scratch(b *testing.B, name string) string {
	workOnce.Do(func() {
		var err error
		if workDir, err = os.MkdirTemp(os.Getenv("CAIRN_BENCH_DIR"), "cairn-bench-"); err != nil {
			b.Fatal(err)
		}
	})
	dir, err := os.MkdirTemp(workDir, name+"-")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

func (d *dataSet) get(b *testing.B, make func(dir string) error) *dataSet {
	d.once.Do(func() {
		d.dir = scratch(b, "data")
		if d.err = make(d.dir); d.err == nil {
			d.files, d.bytes, d.err = count(d.dir)
		}
	})
	if d.err != nil {
		b.Fatal(d.err)
	}
	return d
}

// goSource copies GOROOT/src.
func goSource(b *testing.B) *dataSet {
	return goSrc.get(b, func(dir string) error { return copyTree(filepath.Join(runtime.GOROOT(), "src"), dir) })
}

// oneGiB writes one file of 1 GiB of random bytes.
func oneGiB(b *testing.B) *dataSet {
	return bigFile.get(b, func(dir string) error {
		f, err := os.Create(filepath.Join(dir, "big.bin"))
		if err != nil {
			return err
		}
		rng := rand.NewChaCha8([32]byte{1})
		if _, err := io.CopyN(f, rng, 1<<30); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		}
		return nil // symlinks and others are rare in GOROOT/src
	})
}

func count(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += fi.Size()
		return nil
	})
	return files, bytes, err
}
