package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/testpg"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/dump"
)

// dumpChunkings are the chunk sizes BenchmarkDumpDedup compares.
var dumpChunkings = []struct {
	name   string
	params chunk.Params
}{
	{"default", chunk.Params{}}, // 512 KiB / 1 MiB / 8 MiB
	{"256K", chunk.Params{Min: 64 << 10, Avg: 256 << 10, Max: 2 << 20}},
	{"64K", chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 512 << 10}},
	{"8K", chunk.Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}},
	{"2K", chunk.Params{Min: 512, Avg: 2 << 10, Max: 16 << 10}},
}

// BenchmarkDumpDedup measures how much of a day's second database dump is
// new to the repository: a plain pg_dump of a pgbench database at scale
// 10 (1M accounts), then another after 10,000 pgbench transactions. It
// backs up both dumps into a fresh repository per chunking and reports
// what the second added, and the same for restic if it is installed.
//
// The work is done once, whatever b.N; ns/op is the time of all backups.
func BenchmarkDumpDedup(b *testing.B) {
	a, bDump := pgbenchDumps(b)
	size := fileSize(b, bDump)
	done := false
	for b.Loop() {
		if done {
			continue
		}
		done = true
		b.ReportMetric(float64(size)/1e6, "dump-MB")
		for _, c := range dumpChunkings {
			added, blobs := cairnDedup(b, c.params, a, bDump)
			b.Logf("cairn %s: second dump added %.1f of %.1f MB (%.1f%%), %d data blobs",
				c.name, float64(added)/1e6, float64(size)/1e6, 100*float64(added)/float64(size), blobs)
			b.ReportMetric(float64(added)/1e6, "added-MB-"+c.name)
			b.ReportMetric(float64(blobs), "blobs-"+c.name)
		}
		if _, err := exec.LookPath("restic"); err != nil {
			b.Log("restic not installed: no comparison (apt-get install restic)")
			continue
		}
		added := resticDedup(b, a, bDump)
		b.Logf("restic: second dump added %.1f MB (%.1f%%)", float64(added)/1e6, 100*float64(added)/float64(size))
		b.ReportMetric(float64(added)/1e6, "restic-added-MB")
	}
}

// pgbenchDumps starts a server, makes a pgbench database at scale 10 and
// returns the paths of a plain dump before and after 10,000 transactions.
func pgbenchDumps(b *testing.B) (before, after string) {
	pg := testpg.Start(b)
	ctx := context.Background()
	dir := scratch(b, "dumps")
	run := func(name string, args ...string) {
		if out, err := pg.Cmd(ctx, name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("createdb", "bench")
	run("pgbench", "-i", "-q", "-s", "10", "bench")
	before, after = filepath.Join(dir, "a.sql"), filepath.Join(dir, "b.sql")
	run("pg_dump", "-f", before, "bench")
	run("pgbench", "-n", "-t", "10000", "-c", "1", "bench")
	run("pg_dump", "-f", after, "bench")
	return before, after
}

// cairnDedup backs up dump a then dump b from disk into a new repository
// and returns what the second backup added and the data blobs in the end.
func cairnDedup(b *testing.B, params chunk.Params, a, bDump string) (added uint64, blobs int) {
	ctx := context.Background()
	r, err := repo.Init(ctx, local.New(scratch(b, "repo")), password, repo.InitOptions{Chunking: params})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{a, bDump} {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sn, err := r.Backup(ctx, dump.Reader(f, "db.sql"), repo.BackupOptions{})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		added = sn.Summary.BytesAdded
	}
	st, err := r.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return added, st.DataBlobs
}

// resticDedup does the same with restic and returns the second backup's
// data_added. Compression is off: restic 0.14 counts data_added after
// compression, cairn's BytesAdded is before it.
func resticDedup(b *testing.B, a, bDump string) uint64 {
	env := append(os.Environ(), "RESTIC_REPOSITORY="+scratch(b, "restic"), "RESTIC_PASSWORD="+password)
	restic := func(stdin string, args ...string) []byte {
		cmd := exec.Command("restic", args...)
		cmd.Env = env
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("restic %v: %v\n%s", args, err, stderr.Bytes())
		}
		return out
	}
	restic("", "init", "-q")
	var added uint64
	for _, path := range []string{a, bDump} {
		out := restic(path, "backup", "--json", "-q", "--compression", "off", "--stdin", "--stdin-filename", "db.sql")
		var err error
		if added, err = resticAdded(out); err != nil {
			b.Fatal(err)
		}
	}
	return added
}

// resticAdded finds data_added in the summary line of restic backup --json.
func resticAdded(out []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var msg struct {
			MessageType string `json:"message_type"`
			DataAdded   uint64 `json:"data_added"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.MessageType == "summary" {
			return msg.DataAdded, nil
		}
	}
	return 0, fmt.Errorf("restic backup --json: no summary in %q", out)
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
