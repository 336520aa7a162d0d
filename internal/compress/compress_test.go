package compress

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/cairnbackup/cairn/internal/testsrc"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	random := make([]byte, 100<<10)
	rand.Read(random)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 200000) // 8.8 MB
	for _, l := range []Level{Off, Fastest, Default, Better, Best} {
		for name, data := range map[string][]byte{"empty": nil, "random": random, "text": text, "one": {7}} {
			enc := Append([]byte("pre"), data, l)
			require.Equal(t, "pre", string(enc[:3]))
			enc = enc[3:]
			dec, err := Decode(nil, enc, len(data))
			require.NoError(t, err, "level %d %s", l, name)
			require.Equal(t, len(data), len(dec))
			require.True(t, bytes.Equal(data, dec))
			switch {
			case l == Off || name != "text":
				require.Equal(t, ModeRaw, enc[0], "level %d %s stored raw", l, name)
				require.Len(t, enc, len(data)+1)
			default:
				require.Equal(t, ModeZstd, enc[0])
				require.Less(t, len(enc), len(data)/10)
			}
		}
	}
}

func TestSmallCompressibleValues(t *testing.T) {
	// zstd omits the content size of small frames unless asked; Decode
	// needs it, so every size must round trip compressed.
	for n := 20; n < 600; n += 7 {
		data := bytes.Repeat([]byte{'a'}, n)
		enc := Append(nil, data, Default)
		require.Equal(t, ModeZstd, enc[0], "%d bytes", n)
		dec, err := Decode(nil, enc, n)
		require.NoError(t, err, "%d bytes", n)
		require.Equal(t, data, dec)
	}
}

func TestDecodeLimitsAndErrors(t *testing.T) {
	text := bytes.Repeat([]byte("abc"), 1000)
	enc := Append(nil, text, Default)
	_, err := Decode(nil, enc, len(text)-1)
	require.Error(t, err, "over the limit")
	_, err = Decode(nil, Append(nil, []byte("raw"), Off), 2)
	require.Error(t, err, "raw over the limit")
	_, err = Decode(nil, nil, 10)
	require.Error(t, err)
	_, err = Decode(nil, []byte{9, 1, 2}, 10)
	require.Error(t, err)
	_, err = Decode(nil, enc[:len(enc)-3], len(text))
	require.Error(t, err, "truncated frame")
	bad := bytes.Clone(enc)
	bad[len(bad)/2] ^= 0xff
	if out, err := Decode(nil, bad, len(text)); err == nil {
		require.NotEqual(t, text, out)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, []byte("hello hello hello hello"), Default))
	f.Add([]byte{ModeRaw, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decode(nil, data, 1<<20)
		if err == nil && len(out) > 1<<20 {
			t.Fatalf("decoded %d bytes past the limit", len(out))
		}
		view, verr := View(nil, data, 1<<20)
		if (err == nil) != (verr == nil) || !bytes.Equal(out, view) {
			t.Fatalf("View gave %d bytes (%v), Decode %d (%v)", len(view), verr, len(out), err)
		}
	})
}

func BenchmarkCompress(b *testing.B) {
	text, err := testsrc.GoSource(1 << 20)
	if err != nil {
		b.Skip(err)
	}
	random := make([]byte, len(text))
	rand.Read(random)
	for _, l := range []struct {
		name  string
		level Level
	}{{"fastest", Fastest}, {"default", Default}} {
		for name, data := range map[string][]byte{"gosource": text, "random": random} {
			b.Run(l.name+"/"+name, func(b *testing.B) {
				var dst []byte
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					dst = Append(dst[:0], data, l.level)
				}
				b.ReportMetric(float64(len(dst))/float64(len(data)), "ratio")
			})
		}
	}
}

func BenchmarkDecompress(b *testing.B) {
	text, err := testsrc.GoSource(1 << 20)
	if err != nil {
		b.Skip(err)
	}
	enc := Append(nil, text, Default)
	var dst []byte
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dst, _ = Decode(dst[:0], enc, len(text))
	}
}
