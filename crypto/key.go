package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/restic/chunker"
	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// KeySize is the length of the encryption key and of the blob-ID key.
	KeySize = 32
	// NonceSize is the length of the random nonce in front of every sealed value.
	NonceSize = chacha20poly1305.NonceSizeX
	// TagSize is the length of the authentication tag behind every sealed value.
	TagSize = chacha20poly1305.Overhead
	// Overhead is how much longer a sealed value is than its plaintext.
	Overhead = NonceSize + TagSize

	// masterKeySize is the length of a marshalled master key set:
	// encryption key, blob-ID key, polynomial (uint64, little-endian).
	masterKeySize = 2*KeySize + 8
)

// Key is a repository's master key set. It is safe for concurrent use.
type Key struct {
	encKey     [KeySize]byte
	idKey      [KeySize]byte
	polynomial uint64

	aead    cipher.AEAD
	hashers sync.Pool // of *blake3.Hasher keyed with idKey
}

// NewRandomKey returns a fresh master key set with a random, irreducible
// chunker polynomial.
func NewRandomKey() (*Key, error) {
	var enc, id [KeySize]byte
	rand.Read(enc[:])
	rand.Read(id[:])
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return nil, fmt.Errorf("chunker polynomial: %w", err)
	}
	return newKey(enc, id, uint64(pol))
}

// NewKeyLike returns a master key set with a fresh random encryption key
// and k's blob-ID key and chunker polynomial. A repository made with it
// cuts the same chunks (given the same chunk sizes) and gives them the same
// IDs as k's, so blobs can be copied between the two without re-hashing and
// a copy skips what the other has. The price: the two repositories' blob
// IDs are comparable, so whoever holds the keys of both can tell which data
// they share, and a leaked master key of one gives away the other's ID key
// and polynomial too (not its encryption key: its content stays sealed).
func NewKeyLike(k *Key) (*Key, error) {
	var enc [KeySize]byte
	rand.Read(enc[:])
	return newKey(enc, k.idKey, k.polynomial)
}

func newKey(enc, id [KeySize]byte, polynomial uint64) (*Key, error) {
	pol := chunker.Pol(polynomial)
	if pol.Deg() != 53 || !pol.Irreducible() {
		return nil, fmt.Errorf("chunker polynomial %#x: not irreducible of degree 53: %w", polynomial, ErrCorrupt)
	}
	aead, err := chacha20poly1305.NewX(enc[:])
	if err != nil {
		return nil, err
	}
	k := &Key{encKey: enc, idKey: id, polynomial: polynomial, aead: aead}
	template, err := blake3.NewKeyed(id[:])
	if err != nil {
		return nil, err
	}
	k.hashers.New = func() any { return template.Clone() }
	return k, nil
}

// Polynomial returns the secret chunker polynomial.
func (k *Key) Polynomial() uint64 {
	return k.polynomial
}

// BlobID returns the keyed BLAKE3-256 digest of data, the ID of the blob
// that holds data. Without the key, nobody can confirm a guess of the content.
func (k *Key) BlobID(data []byte) ID {
	h := k.hashers.Get().(*blake3.Hasher)
	h.Reset()
	h.Write(data)
	var id ID
	h.Sum(id[:0])
	k.hashers.Put(h)
	return id
}

// Seal encrypts and authenticates plaintext and the associated data ad, and
// appends nonce || ciphertext || tag to dst. dst and plaintext must not overlap.
func (k *Key) Seal(dst, plaintext, ad []byte) []byte {
	n := len(dst)
	dst = grow(dst, NonceSize+len(plaintext)+TagSize)[:n+NonceSize]
	rand.Read(dst[n:])
	return k.aead.Seal(dst, dst[n:n+NonceSize], plaintext, ad)
}

// Open authenticates and decrypts a value made by Seal with the same ad and
// appends the plaintext to dst. A value that fails authentication is an error
// wrapping ErrCorrupt. dst and sealed must not overlap.
func (k *Key) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealed value of %d bytes is shorter than %d: %w", len(sealed), Overhead, ErrCorrupt)
	}
	out, err := k.aead.Open(dst, sealed[:NonceSize], sealed[NonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("authentication failed: %w", ErrCorrupt)
	}
	return out, nil
}

// marshal returns the master key set in its sealed-in-key-file form.
func (k *Key) marshal() []byte {
	b := make([]byte, 0, masterKeySize)
	b = append(b, k.encKey[:]...)
	b = append(b, k.idKey[:]...)
	return binary.LittleEndian.AppendUint64(b, k.polynomial)
}

func unmarshalKey(b []byte) (*Key, error) {
	if len(b) != masterKeySize {
		return nil, fmt.Errorf("master key of %d bytes, want %d: %w", len(b), masterKeySize, ErrCorrupt)
	}
	return newKey([KeySize]byte(b[:KeySize]), [KeySize]byte(b[KeySize:2*KeySize]),
		binary.LittleEndian.Uint64(b[2*KeySize:]))
}

// grow makes room for n more bytes in b without changing its length.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}
