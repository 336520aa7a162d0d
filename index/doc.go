// Package index records where each blob of a repository lives: the index
// files stored under index/, and a compact in-memory index built from them.
//
// # Index files
//
// An index file (File) lists packs, each with its type and its blobs' IDs,
// offsets, sealed lengths and raw lengths. A backup writes one after the
// packs it names and before the snapshot that needs them; prune writes
// merged files that name the files they supersede, and readers load only the
// files Live returns. A file is compressed and sealed as envelope kind
// Index; its payload is
//
//	created   int64 LE, Unix nanoseconds
//	nsup      uvarint, then nsup × 32-byte IDs of superseded index files
//	npacks    uvarint, then per pack:
//	  id        32 bytes
//	  type      1 byte: 0 data, 1 tree
//	  flags     1 byte: bit 0 condemned, other bits 0
//	  nblobs    uvarint ≥ 1, then nblobs × {id 32 bytes, offset, length, raw_length uvarints}
//
// with every uvarint minimally encoded and below 2^32, offset+length at most
// 2^32, no pack twice in a file, no blob twice in a pack and nothing after
// the last pack. Decode accepts exactly what Encode writes, so a file has
// one encoding; it checks every count against the bytes left before
// allocating, bounds the decompressed payload by MaxPayloadSize, and every
// error wraps crypto.ErrCorrupt and names the pack and blob at fault.
//
// # The in-memory index
//
// Index maps a blob handle, type and ID, to its location. The same ID as
// data and as tree are two blobs. It keeps one location per blob: the
// first added, except that a location in a pack that is not condemned
// replaces one in a condemned pack, so backups stop depending on packs that
// prune is about to delete. Condemning is per pack and sticky. All methods
// are safe for concurrent use.
//
// Records of 46 bytes sit in sorted, packed arrays, with the pack named by
// a 4-byte number; see Index for the layout. Heap kept per blob (runtime
// HeapAlloc after GC, before and after building; random IDs, every 20th
// pack a tree pack; 2-core AMD EPYC VM, Go 1.26):
//
//	blobs   blobs/pack   AddFiles   AddFiles in 1 M batches   AddFile per 10 k   AddPack each,
//	                     one call   + Compact                 + Compact          no Compact
//	 1 M        30        47.62       47.63                     47.63              47.77
//	 1 M      1000        46.32       46.32                     46.32              46.51
//	10 M        30        47.35       47.35                     47.36              47.45
//	10 M      1000        46.08       46.08                     46.08              46.16
//
// On the same machine, loading 10 M blobs takes 0.6 s in one AddFiles call,
// 0.7 to 1.6 s in calls of a million blobs, and 4 to 6 s file by file with
// 10,000 blobs per file; 1 M blobs take 0.07 s, or 0.3 s file by file. A
// lookup takes about 250 ns at 1 M blobs and 500 ns at 10 M, about two
// cache misses; adding single blobs about 700 ns each at 1 M.
// BenchmarkMemory and the other benchmarks reproduce these figures; set
// CAIRN_INDEX_LARGE=1 for 10 M blobs.
//
// # Opening a repository
//
// Which files are live is known only once every file is decoded, and a
// decoded File takes about 45 bytes per blob next to the index's 46. A
// Loader keeps each file, as it is decoded, as 48-byte records in per-shard
// chunks and lets the File go; AddTo then registers the live files' packs
// in order and builds one shard's run at a time from its records, releasing
// them, with the result AddFiles of the live files would give. What is live
// while a 10 M-blob repository opens thus peaks at about 50 bytes per blob
// rather than 91 to 95. The heap, garbage included, peaks higher, since
// reading the files makes garbage and Go lets the heap grow to 1 + GOGC/100
// times what is live: about 94 bytes per blob at GOGC=100 (95.5 before),
// 75 at GOGC=50 (95.5) and 56 at GOGC=10 (95.5), as repo's
// BenchmarkOpenIndex measures.
package index
