package index_test

import (
	"fmt"
	"log"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
)

// A backup writes an index file for the packs it stored; opening the
// repository decodes the live files into one in-memory index.
func Example() {
	key, err := crypto.NewRandomKey()
	if err != nil {
		log.Fatal(err)
	}
	packID, blobID := crypto.Hash([]byte("pack")), crypto.Hash([]byte("blob"))
	f := &index.File{
		Created: time.Now(),
		Packs: []index.Pack{{ID: packID, Type: pack.DataBlob, Blobs: []pack.Blob{
			{ID: blobID, Offset: 0, Length: 1041, RawLength: 4096},
		}}},
	}
	sealed, err := f.Encode(key)
	if err != nil {
		log.Fatal(err)
	}

	decoded, err := index.Decode(key, sealed)
	if err != nil {
		log.Fatal(err)
	}
	idx := index.New()
	if err := idx.AddFiles(decoded); err != nil {
		log.Fatal(err)
	}
	idx.Compact()

	loc, ok := idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: blobID})
	fmt.Println(ok, loc.Pack == packID, loc.Offset, loc.Length, loc.Condemned)
	fmt.Println(idx.Has(pack.Handle{Type: pack.TreeBlob, ID: blobID}))
	// Output:
	// true true 0 1041 false
	// false
}

// Prune's merged file supersedes the files it replaces, so only it is loaded.
func ExampleLive() {
	older, newer := crypto.Hash([]byte("older")), crypto.Hash([]byte("merged"))
	files := map[crypto.ID]*index.File{
		older: {},
		newer: {Supersedes: []crypto.ID{older}},
	}
	for _, id := range index.Live(files) {
		fmt.Println(id == newer)
	}
	// Output: true
}
