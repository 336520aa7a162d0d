package index

import (
	"math/rand/v2"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary payloads to the parser, the code that reads an
// index file once it is authenticated and decompressed. Whatever it accepts
// must survive Encode's checks and encode to the same bytes.
func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 5))
	valid := randomFile(r, 3, 4)
	valid.Supersedes = []crypto.ID{randomID(r)}
	f.Add(valid.marshal())
	f.Add(randomFile(r, 1, 1).marshal())
	f.Add(payload([]byte{0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse(data)
		if err != nil {
			require.ErrorIs(t, err, crypto.ErrCorrupt)
			return
		}
		require.NoError(t, file.validate())
		require.Equal(t, data, file.marshal())
	})
}

var fuzzKey, _ = crypto.NewRandomKey()

// FuzzDecode feeds arbitrary files, valid ones among the seeds, to Decode.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{1, 10} {
		data, err := randomFile(r, n, 3).Encode(fuzzKey)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("CRNI\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(fuzzKey, data)
		if err != nil {
			return
		}
		again, err := file.Encode(fuzzKey)
		require.NoError(t, err)
		back, err := Decode(fuzzKey, again)
		require.NoError(t, err)
		require.Equal(t, file, back)
	})
}
