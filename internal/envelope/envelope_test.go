package envelope

import (
	"bytes"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/stretchr/testify/require"
)

func TestEnvelope(t *testing.T) {
	k, err := crypto.NewRandomKey()
	require.NoError(t, err)
	payload := bytes.Repeat([]byte(`{"some":"json"}`), 100)
	for _, kind := range []Kind{Config, Index, Snapshot, Lock} {
		sealed := Seal(k, kind, payload, compress.Default)
		require.Equal(t, kind[:], sealed[:4])
		require.Less(t, len(sealed), len(payload), "compressed")

		got, err := Open(k, kind, sealed, len(payload))
		require.NoError(t, err)
		require.Equal(t, payload, got)

		_, err = Open(k, kind, sealed, len(payload)-1)
		require.ErrorIs(t, err, crypto.ErrCorrupt, "over the limit")

		for _, other := range []Kind{Config, Index, Snapshot, Lock} {
			if other != kind {
				_, err := Open(k, other, sealed, len(payload))
				require.ErrorIs(t, err, crypto.ErrCorrupt)
			}
		}
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x04
			_, err := Open(k, kind, bad, len(payload))
			if i == 4 {
				require.ErrorIs(t, err, crypto.ErrUnsupportedVersion)
			} else {
				require.ErrorIs(t, err, crypto.ErrCorrupt, "flip at %d", i)
			}
		}
		_, err = Open(k, kind, sealed[:3], len(payload))
		require.ErrorIs(t, err, crypto.ErrCorrupt)
	}
}

func TestCheckHeader(t *testing.T) {
	require.NoError(t, CheckHeader(Index, []byte("CRNI\x01rest")))
	require.ErrorIs(t, CheckHeader(Index, []byte("CRNI\x02rest")), crypto.ErrUnsupportedVersion)
	require.ErrorIs(t, CheckHeader(Index, []byte("CRNS\x01rest")), crypto.ErrCorrupt)
	require.ErrorContains(t, CheckHeader(Snapshot, []byte("x")), "not a snapshot file")
}

func FuzzOpen(f *testing.F) {
	k, err := crypto.NewRandomKey()
	require.NoError(f, err)
	f.Add(Seal(k, Snapshot, []byte(`{"a":1}`), compress.Default))
	f.Add([]byte("CRNS\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := Open(k, Snapshot, data, 1<<20)
		if err == nil && len(payload) > 1<<20 {
			t.Fatal("payload over the limit")
		}
	})
}
