package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
)

// The stage ceiling of a data set is the speed of the slowest stage of
// cairn's backup pipeline on one core, times the cores: what a backup that
// kept every core busy with that stage alone would reach. Each stage
// (chunking, blob ID, compression, sealing) makes the calls a backup makes
// (the chunk package, crypto.Key.BlobID, and compress.Append and
// pack.SealBlob as in repo.Writer), on a sample of the data set held in
// memory. BenchmarkStage runs the same stages under go test.

// sampleLimit bounds the bytes of a data set that measureStages reads.
const sampleLimit = 256 << 20

// stageInput is a sample cut, hashed and compressed once, so that each
// stage can run alone over what the stage before it would hand on.
type stageInput struct {
	key     *crypto.Key
	chunker *chunk.Chunker
	files   [][]byte
	chunks  [][]byte    // sub-slices of files, as the chunker cuts them
	ids     []crypto.ID // of chunks
	plain   [][]byte    // chunks compressed: what is sealed
	bytes   int64       // of files
	buf     []byte      // scratch
}

// stages are the steps of cairn's backup pipeline that read every byte, in
// the order a blob passes them. run makes one pass over the sample.
var stages = []struct {
	name string
	run  func(in *stageInput) error
}{
	{"chunk", func(in *stageInput) error { return in.cut(nil) }},
	{"blake3", func(in *stageInput) error {
		for i, c := range in.chunks {
			in.ids[i] = in.key.BlobID(c)
		}
		return nil
	}},
	{"zstd", func(in *stageInput) error {
		for _, c := range in.chunks {
			in.buf = compress.Append(in.buf[:0], c, compress.Default) // repo.CompressionAuto
		}
		return nil
	}},
	{"seal", func(in *stageInput) error {
		for i, p := range in.plain {
			in.buf = pack.SealBlob(in.buf[:0], in.key, pack.Handle{Type: pack.DataBlob, ID: in.ids[i]}, p)
		}
		return nil
	}},
}

// newStageInput prepares files for the stages, with a new key and the
// repository's default chunk sizes.
func newStageInput(files [][]byte) (*stageInput, error) {
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	c, err := chunk.New(key.Polynomial(), chunk.Params{})
	if err != nil {
		return nil, err
	}
	in := &stageInput{key: key, chunker: c, files: files}
	for _, f := range files {
		in.bytes += int64(len(f))
	}
	if err := in.cut(func(file []byte, off, n int) {
		in.chunks = append(in.chunks, file[off:off+n])
	}); err != nil {
		return nil, err
	}
	in.ids = make([]crypto.ID, len(in.chunks))
	for i, c := range in.chunks {
		in.ids[i] = key.BlobID(c)
		in.plain = append(in.plain, compress.Append(nil, c, compress.Default))
	}
	return in, nil
}

// cut chunks every file and calls fn, if not nil, with each chunk's place.
func (in *stageInput) cut(fn func(file []byte, off, n int)) error {
	for _, f := range in.files {
		in.chunker.Reset(bytes.NewReader(f))
		for off := 0; ; {
			var err error
			in.buf, err = in.chunker.Next(in.buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if fn != nil {
				fn(f, off, len(in.buf))
			}
			off += len(in.buf)
		}
	}
	return nil
}

// ceiling is the stage measurement of one data set.
type ceiling struct {
	sample int64     // bytes measured
	speeds []float64 // bytes of the sample per second on one core, by stage
	cores  int
}

// slowest returns the index of the slowest stage.
func (c *ceiling) slowest() int {
	i := 0
	for j, s := range c.speeds {
		if s < c.speeds[i] {
			i = j
		}
	}
	return i
}

// limit is the stage ceiling in bytes per second.
func (c *ceiling) limit() float64 {
	if c == nil || len(c.speeds) == 0 {
		return math.NaN()
	}
	return c.speeds[c.slowest()] * float64(c.cores)
}

// measureStages runs every stage on one core (GOMAXPROCS 1) over a sample of
// d, repeating each for at least minTime (once if 0).
func measureStages(d *dataset, minTime time.Duration, log io.Writer) (*ceiling, error) {
	files, err := readSample(d.dir, sampleLimit)
	if err != nil {
		return nil, err
	}
	in, err := newStageInput(files)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s: timing cairn's stages on %s\n", d.name, size(in.bytes))
	c := &ceiling{sample: in.bytes, cores: runtime.NumCPU()}
	if c.speeds, err = timeStages(in, minTime); err != nil {
		return nil, err
	}
	debug.FreeOSMemory() // the sample's, before the tools run
	return c, nil
}

// timeStages returns the speed of each stage on in, in bytes per second.
func timeStages(in *stageInput, minTime time.Duration) ([]float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var speeds []float64
	for _, st := range stages {
		runtime.GC()
		passes, start := 0, time.Now()
		for passes == 0 || time.Since(start) < minTime {
			if err := st.run(in); err != nil {
				return nil, err
			}
			passes++
		}
		speeds = append(speeds, float64(in.bytes)*float64(passes)/time.Since(start).Seconds())
	}
	return speeds, nil
}

// readSample reads up to limit bytes of the files under dir: all of them if
// they fit, else every k-th file, so the sample spreads over the data set,
// and the file that reaches the limit only up to it.
func readSample(dir string, limit int64) ([][]byte, error) {
	type file struct {
		path string
		size int64
	}
	var files []file
	var total int64
	if err := walkFiles(dir, func(p string, size int64) error {
		files = append(files, file{p, size})
		total += size
		return nil
	}); err != nil {
		return nil, err
	}
	k := max(1, int((total+limit-1)/limit))
	var out [][]byte
	for i := 0; i < len(files) && limit > 0; i += k {
		b, err := readPrefix(files[i].path, min(files[i].size, limit))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		limit -= int64(len(b))
	}
	return out, nil
}

// readPrefix reads the first n bytes of the file at path.
func readPrefix(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	return b, err
}
