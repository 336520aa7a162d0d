// Package pack reads and writes packfiles, the objects under data/ that hold
// a repository's blobs.
//
// A pack is the sealed blobs back to back, then the sealed header, then the
// header's length:
//
//	blob_0 || blob_1 || … || blob_n-1 || sealed header || uint32 LE header length
//
// Each blob is sealed on its own (SealBlob) with its type and ID as associated
// data, so a blob can be read with one range request and cannot be swapped for
// another. The header lists, in file order, each blob's ID, sealed length and
// raw length; offsets follow from the lengths. It is sealed too, so the
// storage provider learns neither the IDs nor the sizes of the blobs in a
// pack, only the pack's total size. All blobs of a pack have one type, which
// the header records once. A pack is named by the unkeyed BLAKE3-256 digest of
// its bytes, so its integrity can be checked without the key.
//
// This package knows nothing of backends or the index: the writer writes to an
// io.Writer and the reader reads from an io.ReaderAt. See FORMAT.md for the
// exact layout.
package pack
