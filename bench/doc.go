// Package bench holds cairn's end-to-end benchmarks: whole backups and
// restores through the public API, on real files in a local repository.
//
//	go test -run '^$' -bench . -benchtime 3x ./bench/
//
// Each benchmark reports MB/s of file content, files/s, and the peak
// memory of the operation: peak-heap-MB (Go heap and stacks in use,
// sampled) and peak-rss-MB (the process's resident set high-water mark,
// reset before each operation). The data sets are made once per run in the
// system's temporary directory: a copy of $(go env GOROOT)/src (many small
// real files) and one 1 GiB file of random data. Set CAIRN_BENCH_DIR to
// keep them on a particular file system.
package bench
