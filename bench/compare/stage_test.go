package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

// BenchmarkStage times each stage of cairn's backup pipeline as the stage
// ceiling does, on 32 MiB of generated text-like and random data:
//
//	go test -run '^$' -bench Stage -cpu 1 ./bench/compare
func BenchmarkStage(b *testing.B) {
	inputs := map[string]*stageInput{}
	for _, st := range stages {
		for _, data := range []struct {
			name string
			make func(dir string, scale float64, seed uint64) error
		}{{"text", makeText}, {"random", makeRandom}} {
			b.Run(st.name+"/"+data.name, func(b *testing.B) {
				in := inputs[data.name]
				if in == nil {
					in = generatedInput(b, data.make, 1.0/32)
					inputs[data.name] = in
				}
				b.SetBytes(in.bytes)
				for b.Loop() {
					if err := st.run(in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// generatedInput makes a data set at scale and prepares it for the stages.
func generatedInput(tb testing.TB, make func(dir string, scale float64, seed uint64) error, scale float64) *stageInput {
	dir := tb.TempDir()
	require.NoError(tb, make(dir, scale, 1))
	files, err := readSample(dir, sampleLimit)
	require.NoError(tb, err)
	in, err := newStageInput(files)
	require.NoError(tb, err)
	return in
}

func TestStageInput(t *testing.T) {
	// 16 MiB: about ten chunks. (In 2 MiB, with chunks of 1.5 MiB on
	// average, one in five random polynomials cut nowhere.)
	in := generatedInput(t, makeText, 1.0/64)
	require.GreaterOrEqual(t, in.bytes, int64(16<<20))
	require.Greater(t, len(in.chunks), 1)
	require.Equal(t, in.files[0], bytes.Join(in.chunks, nil), "the chunks are the file, in order")
	for i, c := range in.chunks[:len(in.chunks)-1] {
		require.GreaterOrEqual(t, len(c), chunk.DefaultMin, "chunk %d", i)
		require.LessOrEqual(t, len(c), chunk.DefaultMax, "chunk %d", i)
	}
	for i, c := range in.chunks {
		require.Equal(t, in.key.BlobID(c), in.ids[i])
		plain, err := compress.Decode(nil, in.plain[i], len(c))
		require.NoError(t, err)
		require.Equal(t, c, plain)
		require.Less(t, len(in.plain[i]), len(c), "text compresses")
	}
	for _, st := range stages {
		require.NoError(t, st.run(in), st.name)
	}
	// The seal stage leaves the last blob sealed as the writer seals it.
	last := len(in.chunks) - 1
	plain, err := pack.OpenBlob(nil, in.key, pack.Handle{Type: pack.DataBlob, ID: in.ids[last]}, in.buf)
	require.NoError(t, err)
	require.Equal(t, in.plain[last], plain)
}

func TestReadSample(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []int{100, 200, 300, 400, 500} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, string(rune('a'+i))), bytes.Repeat([]byte{byte('a' + i)}, n), 0o644))
	}
	for _, tc := range []struct {
		name  string
		limit int64
		want  []string
	}{
		{"all fit", 1500, []string{"a100", "b200", "c300", "d400", "e500"}},
		{"every second file, the last cut short", 750, []string{"a100", "c300", "e350"}},
		{"every fourth file", 450, []string{"a100", "e350"}},
		{"one file", 1, []string{"a1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := readSample(dir, tc.limit)
			require.NoError(t, err)
			var got []string
			for _, f := range files {
				got = append(got, string(f[0])+strconv.Itoa(len(f)))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMeasureStages(t *testing.T) {
	root := t.TempDir()
	d, err := prepareDataset(root, "text1g", tinyScale, 1)
	require.NoError(t, err)
	c, err := measureStages(d, 10*time.Millisecond, io.Discard)
	require.NoError(t, err)
	require.Equal(t, d.bytes, c.sample)
	require.Len(t, c.speeds, len(stages))
	for i, s := range c.speeds {
		require.Positive(t, s, stages[i].name)
	}
	require.Equal(t, runtime.NumCPU(), c.cores)
	require.Equal(t, c.speeds[c.slowest()]*float64(runtime.NumCPU()), c.limit())
	require.Equal(t, runtime.NumCPU(), runtime.GOMAXPROCS(0), "GOMAXPROCS is restored")
}

func TestCeilingTable(t *testing.T) {
	d := &dataset{name: "text1g", files: 1, bytes: 140e6}
	other := &dataset{name: "gosrc", files: 9, bytes: 1e6}
	r := newResults(config{runs: 1})
	r.tools = []string{"cairn"}
	r.datasets = []*dataset{d, other}
	r.ceilings[d.name] = &ceiling{sample: 128 << 20, speeds: []float64{400e6, 1000e6, 100e6, 800e6}, cores: 2}
	r.ceilings[other.name] = &ceiling{sample: 1 << 20, speeds: []float64{300e6, 900e6, 200e6, 50e6}, cores: 2}
	r.add(d.name, "backup-first", "cairn", sample{wall: time.Second})
	var buf bytes.Buffer
	r.ceilingTable(&buf)
	out := buf.String()
	require.Contains(t, out, "## Stage ceiling\n\n")
	require.Contains(t, out, "slowest stage's speed × ")
	require.Contains(t, out, "| data set | sample MiB | chunk MB/s | blake3 MB/s | zstd MB/s | seal MB/s | slowest | ceiling MB/s | cairn first backup MB/s | % of ceiling |\n")
	// 140 MB in 1 s against zstd's 100 MB/s on 2 cores.
	require.Contains(t, out, "| text1g | 128 | 400 | 1000 | 100 | 800 | zstd | 200 | 140 | 70 % |\n")
	// No cairn backup: no percentage.
	require.Contains(t, out, "| gosrc | 1.00 | 300 | 900 | 200 | 50.00 | seal | 100 | – | – |\n")

	buf.Reset()
	newResults(config{}).ceilingTable(&buf)
	require.Empty(t, buf.String(), "no table without measurements")
	require.True(t, math.IsNaN((*ceiling)(nil).limit()))
}
