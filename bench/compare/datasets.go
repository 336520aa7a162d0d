package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/internal/testpg"
)

// dataset is a directory to back up.
type dataset struct {
	name  string
	dir   string
	files int
	bytes int64
}

// kind is a data set by name: how to make it, at a scale of the full size,
// and how to change it for the backup-changed step.
type kind struct {
	generate func(dir string, scale float64, seed uint64) error
	// change replaces mutate (1% of the files) when set.
	change func(d *dataset, seed uint64) (undo func() error, err error)
}

var kinds = map[string]kind{
	"gosrc":    {generate: makeGoRoot},
	"random1g": {generate: makeRandom},
	"text1g":   {generate: makeText},
	"pgbench":  {generate: makePgbench, change: changePgbench},
}

// errUnavailable is wrapped by the error of a data set that this machine
// cannot make, for want of programs; the data set is skipped.
var errUnavailable = testpg.ErrUnavailable

// prepareDataset makes data set name under root/data, or reuses it if a
// previous run made it at the same scale and seed.
func prepareDataset(root, name string, scale float64, seed uint64) (*dataset, error) {
	k, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("unknown data set %q (have %s)", name, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
	}
	dir := filepath.Join(root, "data", name)
	marker := dir + ".done"
	stamp := fmt.Sprintf("scale=%g seed=%d\n", scale, seed)
	if b, err := os.ReadFile(marker); err != nil || string(b) != stamp {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := k.generate(dir, scale, seed); err != nil {
			return nil, fmt.Errorf("make data set %s: %w", name, err)
		}
		if err := os.WriteFile(marker, []byte(stamp), 0o644); err != nil {
			return nil, err
		}
	}
	d := &dataset{name: name, dir: dir}
	err := walkFiles(dir, func(_ string, size int64) error {
		d.files++
		d.bytes += size
		return nil
	})
	return d, err
}

// walkFiles calls fn for every regular file under dir, in lexical order.
func walkFiles(dir string, fn func(path string, size int64) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(p, fi.Size())
	})
}

// makeGoRoot copies $(go env GOROOT); below scale 1 every k-th file only,
// but at least 20 files.
func makeGoRoot(dir string, scale float64, _ uint64) error {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	var files []string
	if err := walkFiles(goroot, func(p string, _ int64) error {
		files = append(files, p)
		return nil
	}); err != nil {
		return err
	}
	k := max(1, min(int(math.Round(1/scale)), len(files)/20))
	for i := 0; i < len(files); i += k {
		rel, _ := filepath.Rel(goroot, files[i])
		if err := copyFile(files[i], filepath.Join(dir, rel)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// scaledGiB is 1 GiB times scale, at least 1 KiB.
func scaledGiB(scale float64) int64 { return max(1<<10, int64(float64(1<<30)*scale)) }

// makeRandom writes one file of incompressible random bytes.
func makeRandom(dir string, scale float64, seed uint64) error {
	var key [32]byte
	copy(key[:], strconv.FormatUint(seed, 10))
	return writeFile(filepath.Join(dir, "random.bin"), func(w io.Writer) error {
		_, err := io.CopyN(w, rand.NewChaCha8(key), scaledGiB(scale))
		return err
	})
}

// makeText writes one file of text-like lines: words from a fixed
// vocabulary drawn with a Zipf distribution, so it compresses well but
// holds few long repeats.
func makeText(dir string, scale float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 2))
	vocab := make([]string, 8192)
	for i := range vocab {
		w := make([]byte, 2+rng.IntN(9))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		vocab[i] = string(w)
	}
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(len(vocab)-1))
	size := scaledGiB(scale)
	return writeFile(filepath.Join(dir, "text.txt"), func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var n int64
		for n < size {
			words := 4 + rng.IntN(12)
			for i := 0; i < words && n < size; i++ {
				k, _ := bw.WriteString(vocab[zipf.Uint64()])
				n += int64(k)
				sep := byte(' ')
				if i == words-1 {
					sep = '\n'
				}
				bw.WriteByte(sep)
				n++
			}
		}
		return bw.Flush()
	})
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// change changes the data set d for the backup-changed step, as its kind
// says, or else with mutate. The returned function undoes the changes.
func change(d *dataset, seed uint64) (undo func() error, err error) {
	if k := kinds[d.name]; k.change != nil {
		return k.change(d, seed)
	}
	return mutate(d, seed)
}

// patchSize is how many bytes mutate overwrites in, and appends to, each
// file it changes.
const patchSize = 4 << 10

// mutate changes 1% of the data set's files (at least one), chosen by seed:
// it overwrites up to patchSize bytes at a random offset and appends
// patchSize random bytes. The returned function undoes the changes.
func mutate(d *dataset, seed uint64) (undo func() error, err error) {
	var files []string
	if err := walkFiles(d.dir, func(p string, _ int64) error {
		files = append(files, p)
		return nil
	}); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	n := max(1, (len(files)+99)/100)
	type saved struct {
		path string
		size int64
		off  int64
		old  []byte
	}
	var done []saved
	undo = func() error {
		for _, s := range done {
			if err := restorePatch(s.path, s.off, s.old, s.size); err != nil {
				return err
			}
		}
		return nil
	}
	for _, i := range rng.Perm(len(files))[:n] {
		s := saved{path: files[i]}
		if s.off, s.old, s.size, err = applyPatch(files[i], rng); err != nil {
			undo()
			return nil, err
		}
		done = append(done, s)
	}
	return undo, nil
}

// applyPatch overwrites and appends to the file at path and returns what
// restorePatch needs to undo that.
func applyPatch(path string, rng *rand.Rand) (off int64, old []byte, size int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, 0, err
	}
	size = fi.Size()
	off = rng.Int64N(size + 1)
	old = make([]byte, min(patchSize, size-off))
	if _, err := f.ReadAt(old, off); err != nil {
		return 0, nil, 0, err
	}
	patch := make([]byte, len(old)+patchSize)
	for i := range patch {
		patch[i] = byte(rng.Uint32())
	}
	if _, err := f.WriteAt(patch[:len(old)], off); err != nil {
		return 0, nil, 0, err
	}
	if _, err := f.WriteAt(patch[len(old):], size); err != nil {
		return 0, nil, 0, err
	}
	return off, old, size, f.Close()
}

func restorePatch(path string, off int64, old []byte, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(old, off); err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Close()
}

// warm reads every file under dir once, so that a timed step reads from
// the page cache (this VM drops idle pages after about a minute).
func warm(dir string) error {
	buf := make([]byte, 1<<20)
	return walkFiles(dir, func(p string, _ int64) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		return err
	})
}
