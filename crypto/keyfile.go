package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KDFParams are the argon2id parameters that turn a password into the key
// that seals a key file. They are stored in the key file.
type KDFParams struct {
	Time      uint32 `json:"time"`       // passes over memory
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`    // parallelism
}

// DefaultKDFParams follow the argon2id recommendation also used by borg 2:
// t=3, m=64 MiB, p=4. Deriving a key takes about 70 ms on two cores.
var DefaultKDFParams = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Bounds on parameters read from a key file, so a hostile file cannot make
// Open allocate without limit or spin for hours.
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 4 * 1024 * 1024
	minSaltSize     = 16
	maxSaltSize     = 64
	saltSize        = 32
	keyFileVersion  = 1
	kdfArgon2id     = "argon2id"
)

// keyFileAD binds a sealed master key to its purpose and format version.
var keyFileAD = []byte("cairn key file v1")

func (p KDFParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("argon2id time %d out of range 1..%d", p.Time, maxKDFTime)
	case p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range", p.MemoryKiB)
	case p.Threads < 1:
		return fmt.Errorf("argon2id threads must be at least 1")
	}
	return nil
}

// derive computes the key encryption key. Argon2id's memory (64 MiB by
// default) is garbage once it returns; it is collected and given back to
// the operating system at once. Otherwise the garbage collector, having
// seen it live, would let the heap grow to twice its size before looking
// again, and a backup right after opening would hold that much.
func (p KDFParams) derive(password string, salt []byte) []byte {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	debug.FreeOSMemory()
	return key
}

// KeyFile is one password's copy of the master key set: the key sealed with a
// key derived from the password. Its Marshal form is what keys/<id> holds.
type KeyFile struct {
	Created  time.Time
	Host     string
	Username string
	KDF      KDFParams
	salt     []byte
	sealed   []byte
}

// keyFileJSON is the stored form; see FORMAT.md.
type keyFileJSON struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Host     string    `json:"host,omitempty"`
	Username string    `json:"username,omitempty"`
	KDF      string    `json:"kdf"`
	KDFParams
	Salt []byte `json:"salt"`
	Data []byte `json:"data"`
}

// NewKeyFile seals k with a key derived from password. Host, Username and
// Created describe the key for listings; the caller may set them.
func NewKeyFile(k *Key, password string, params KDFParams) (*KeyFile, error) {
	if err := params.validate(); err != nil {
		return nil, err
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	aead, err := chacha20poly1305.NewX(params.derive(password, salt))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, NonceSize, Overhead+masterKeySize)
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, k.marshal(), keyFileAD)
	return &KeyFile{Created: time.Now().UTC(), KDF: params, salt: salt, sealed: sealed}, nil
}

// Open derives the key from password and unseals the master key set. A
// password that does not open the file gives ErrWrongPassword.
func (f *KeyFile) Open(password string) (*Key, error) {
	aead, err := chacha20poly1305.NewX(f.KDF.derive(password, f.salt))
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, f.sealed[:NonceSize], f.sealed[NonceSize:], keyFileAD)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return unmarshalKey(plain)
}

// Marshal returns the stored form of the key file.
func (f *KeyFile) Marshal() ([]byte, error) {
	return json.MarshalIndent(keyFileJSON{
		Version: keyFileVersion, Created: f.Created, Host: f.Host, Username: f.Username,
		KDF: kdfArgon2id, KDFParams: f.KDF, Salt: f.salt, Data: f.sealed,
	}, "", "  ")
}

// ParseKeyFile decodes the stored form of a key file without opening it.
// Malformed files wrap ErrCorrupt; other versions or KDFs wrap
// ErrUnsupportedVersion.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	var j keyFileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("key file: %v: %w", err, ErrCorrupt)
	}
	if dec.More() {
		return nil, fmt.Errorf("key file: trailing data: %w", ErrCorrupt)
	}
	if j.Version != keyFileVersion {
		return nil, fmt.Errorf("key file version %d: %w", j.Version, ErrUnsupportedVersion)
	}
	if j.KDF != kdfArgon2id {
		return nil, fmt.Errorf("key file KDF %q: %w", j.KDF, ErrUnsupportedVersion)
	}
	if err := j.KDFParams.validate(); err != nil {
		return nil, fmt.Errorf("key file: %v: %w", err, ErrCorrupt)
	}
	if len(j.Salt) < minSaltSize || len(j.Salt) > maxSaltSize {
		return nil, fmt.Errorf("key file: salt of %d bytes: %w", len(j.Salt), ErrCorrupt)
	}
	if len(j.Data) != Overhead+masterKeySize {
		return nil, fmt.Errorf("key file: sealed key of %d bytes: %w", len(j.Data), ErrCorrupt)
	}
	return &KeyFile{Created: j.Created, Host: j.Host, Username: j.Username,
		KDF: j.KDFParams, salt: j.Salt, sealed: j.Data}, nil
}
