package crypto

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// cheapKDF keeps tests fast; the format is the same at any cost.
var cheapKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func newTestKey(t testing.TB) *Key {
	k, err := NewRandomKey()
	require.NoError(t, err)
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := newTestKey(t)
	for _, size := range []int{0, 1, 100, 1 << 20} {
		plain := bytes.Repeat([]byte{0xa5}, size)
		sealed := k.Seal(nil, plain, []byte("ad"))
		require.Len(t, sealed, size+Overhead)
		got, err := k.Open(nil, sealed, []byte("ad"))
		require.NoError(t, err)
		require.Equal(t, plain, append([]byte{}, got...))
	}
}

func TestSealAppendsToDst(t *testing.T) {
	k := newTestKey(t)
	sealed := k.Seal([]byte("prefix"), []byte("data"), nil)
	require.Equal(t, "prefix", string(sealed[:6]))
	got, err := k.Open([]byte("out:"), sealed[6:], nil)
	require.NoError(t, err)
	require.Equal(t, "out:data", string(got))
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := newTestKey(t)
	a := k.Seal(nil, []byte("same"), nil)
	b := k.Seal(nil, []byte("same"), nil)
	require.NotEqual(t, a[:NonceSize], b[:NonceSize])
}

func TestOpenRejectsTampering(t *testing.T) {
	k := newTestKey(t)
	sealed := k.Seal(nil, []byte("some secret data"), []byte("ad"))
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			_, err := k.Open(nil, bad, []byte("ad"))
			require.ErrorIs(t, err, ErrCorrupt, "byte %d bit %d", i, bit)
		}
	}
	_, err := k.Open(nil, sealed, []byte("other ad"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = k.Open(nil, sealed[:len(sealed)-1], []byte("ad"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = k.Open(nil, sealed[:Overhead-1], []byte("ad"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = newTestKey(t).Open(nil, sealed, []byte("ad"))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestBlobIDIsKeyed(t *testing.T) {
	k1, k2 := newTestKey(t), newTestKey(t)
	data := []byte("content")
	require.Equal(t, k1.BlobID(data), k1.BlobID(data))
	require.NotEqual(t, k1.BlobID(data), k2.BlobID(data))
	require.NotEqual(t, k1.BlobID(data), Hash(data))
	require.NotEqual(t, k1.BlobID(data), k1.BlobID([]byte("contenT")))
}

func TestBlobIDConcurrent(t *testing.T) {
	k := newTestKey(t)
	want := k.BlobID([]byte("x"))
	done := make(chan ID)
	for range 8 {
		go func() {
			var id ID
			for range 1000 {
				id = k.BlobID([]byte("x"))
			}
			done <- id
		}()
	}
	for range 8 {
		require.Equal(t, want, <-done)
	}
}

func TestIDText(t *testing.T) {
	id := Hash([]byte("x"))
	parsed, err := ParseID(id.String())
	require.NoError(t, err)
	require.Equal(t, id, parsed)
	require.Len(t, id.Short(), 8)
	_, err = ParseID("abc")
	require.Error(t, err)
	_, err = ParseID(string(bytes.Repeat([]byte("zz"), IDSize)))
	require.Error(t, err)
	require.True(t, ID{}.IsZero())
	require.False(t, id.IsZero())
}

func TestKeyFileRoundTrip(t *testing.T) {
	k := newTestKey(t)
	f, err := NewKeyFile(k, "secret", cheapKDF)
	require.NoError(t, err)
	f.Host, f.Username = "host1", "alice"
	data, err := f.Marshal()
	require.NoError(t, err)

	parsed, err := ParseKeyFile(data)
	require.NoError(t, err)
	require.Equal(t, "host1", parsed.Host)
	require.Equal(t, "alice", parsed.Username)
	require.Equal(t, cheapKDF, parsed.KDF)

	opened, err := parsed.Open("secret")
	require.NoError(t, err)
	require.Equal(t, k.marshal(), opened.marshal())
	require.Equal(t, k.BlobID([]byte("a")), opened.BlobID([]byte("a")))

	_, err = parsed.Open("Secret")
	require.ErrorIs(t, err, ErrWrongPassword)
	_, err = parsed.Open("")
	require.ErrorIs(t, err, ErrWrongPassword)
}

func TestKeyFileRejectsBadFiles(t *testing.T) {
	k := newTestKey(t)
	f, err := NewKeyFile(k, "pw", cheapKDF)
	require.NoError(t, err)
	good, err := f.Marshal()
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		data string
		want error
	}{
		"not json":        {"garbage", ErrCorrupt},
		"empty":           {"", ErrCorrupt},
		"trailing":        {string(good) + "{}", ErrCorrupt},
		"version 2":       {string(bytes.Replace(good, []byte(`"version": 1`), []byte(`"version": 2`), 1)), ErrUnsupportedVersion},
		"other kdf":       {string(bytes.Replace(good, []byte(`"argon2id"`), []byte(`"scrypt"`), 1)), ErrUnsupportedVersion},
		"unknown field":   {string(bytes.Replace(good, []byte(`"kdf"`), []byte(`"x": 1, "kdf"`), 1)), ErrCorrupt},
		"huge memory":     {string(bytes.Replace(good, []byte(`"memory_kib": 64`), []byte(`"memory_kib": 99999999`), 1)), ErrCorrupt},
		"zero time":       {string(bytes.Replace(good, []byte(`"time": 1`), []byte(`"time": 0`), 1)), ErrCorrupt},
		"short salt":      {regexp.MustCompile(`"salt": "[^"]*"`).ReplaceAllString(string(good), `"salt": "AAAA"`), ErrCorrupt},
		"missing payload": {string(bytes.Replace(good, []byte(`"data"`), []byte(`"datx"`), 1)), ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKeyFile([]byte(tc.data))
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestKeyFileFlippedSealedByteIsNotAKey(t *testing.T) {
	k := newTestKey(t)
	f, err := NewKeyFile(k, "pw", cheapKDF)
	require.NoError(t, err)
	for i := range f.sealed {
		bad := *f
		bad.sealed = bytes.Clone(f.sealed)
		bad.sealed[i] ^= 0x10
		_, err := bad.Open("pw")
		// Without the file's name hash the two cannot be told apart; the
		// repository checks the name first and reports ErrCorrupt.
		require.ErrorIs(t, err, ErrWrongPassword)
	}
}

func TestNewKeyFileValidatesParams(t *testing.T) {
	_, err := NewKeyFile(newTestKey(t), "pw", KDFParams{})
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrWrongPassword))
}

func TestUnmarshalKeyRejectsBadPolynomial(t *testing.T) {
	b := newTestKey(t).marshal()
	clear(b[len(b)-8:]) // the zero polynomial
	_, err := unmarshalKey(b)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = unmarshalKey(b[:10])
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestNewKeyLike(t *testing.T) {
	k := newTestKey(t)
	like, err := NewKeyLike(k)
	require.NoError(t, err)
	require.Equal(t, k.Polynomial(), like.Polynomial())
	require.Equal(t, k.BlobID([]byte("content")), like.BlobID([]byte("content")))
	require.NotEqual(t, k.encKey, like.encKey)
	sealed := k.Seal(nil, []byte("secret"), nil)
	_, err = like.Open(nil, sealed, nil)
	require.ErrorIs(t, err, ErrCorrupt, "the encryption key must be new")

	// It survives a key file like any key.
	f, err := NewKeyFile(like, "pw", cheapKDF)
	require.NoError(t, err)
	opened, err := f.Open("pw")
	require.NoError(t, err)
	require.Equal(t, like.marshal(), opened.marshal())
}
