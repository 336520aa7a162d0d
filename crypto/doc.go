// Package crypto holds cairn's cryptographic primitives and the master key set
// of a repository.
//
// A repository is protected by one random master key set (Key): a 32-byte
// encryption key for XChaCha20-Poly1305, a 32-byte key for blob IDs (keyed
// BLAKE3-256) and the secret polynomial of the content-defined chunker. The
// master key set never changes for the life of a repository. It is stored in
// key files, each sealed with a key derived from one password by argon2id, so
// passwords can be added, removed and changed without re-encrypting data.
//
// Every sealed value is nonce (24 bytes) || ciphertext || tag (16 bytes), with
// a fresh random nonce per seal. Random 192-bit nonces make nonce reuse
// negligible without counters or session keys, so sealing is safe from any
// number of goroutines and processes at once.
//
// Integrity failures wrap ErrCorrupt, a wrong password is ErrWrongPassword,
// and an unknown format version is ErrUnsupportedVersion. The packages built
// on this one (pack, index, repo) wrap the same sentinel values, so callers can
// branch with errors.Is at any layer.
package crypto
