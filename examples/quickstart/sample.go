package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// writeSample makes a small tree: logs that compress, random "tables" that
// do not, a copy of one table (deduplicated), a symlink and a scratch file
// the backup excludes.
func writeSample(dir string) error {
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{"notes/readme.txt": []byte("sample data for cairn's quickstart\n")}
	var log bytes.Buffer
	for i := range 200000 {
		fmt.Fprintf(&log, "2026-11-21T10:%02d:%02d level=info request=%d status=200\n", i/60%60, i%60, i)
	}
	files["logs/app.log"] = log.Bytes()
	for i := range 5 {
		files[fmt.Sprintf("data/table-%02d.bin", i)] = random(rng, 6<<20)
	}
	files["data/copy-of-table-00.bin"] = files["data/table-00.bin"]
	files["scratch.tmp"] = []byte("not worth keeping")
	for name, data := range files {
		if err := writeFile(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return os.Symlink("data/table-00.bin", filepath.Join(dir, "latest-table"))
}

// changeSample edits two files and adds one.
func changeSample(dir string) error {
	rng := rand.New(rand.NewPCG(3, 4))
	f, err := os.OpenFile(filepath.Join(dir, "logs/app.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "2026-11-21T11:00:00 level=warn request=200000 status=503")
	if err := f.Close(); err != nil {
		return err
	}
	t, err := os.OpenFile(filepath.Join(dir, "data/table-03.bin"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := t.WriteAt(random(rng, 4096), 3<<20); err != nil {
		return err
	}
	if err := t.Close(); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "notes/new.txt"), []byte("added before the second backup\n"))
}

func random(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// compareTrees checks that every file, directory and symlink of want is in
// got with the same content, and that got has nothing else but what the
// backup excluded. It returns the number of regular files compared.
func compareTrees(want, got string) (int, error) {
	files := 0
	seen := map[string]bool{}
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if filepath.Ext(rel) == ".tmp" {
			return nil
		}
		seen[rel] = true
		if err := compareEntry(p, filepath.Join(got, rel), d); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(got, p); !seen[rel] {
			return fmt.Errorf("%s: restored but not in the original", rel)
		}
		return nil
	})
	return files, err
}

func compareEntry(want, got string, d fs.DirEntry) error {
	gi, err := os.Lstat(got)
	if err != nil {
		return err
	}
	wi, err := d.Info()
	if err != nil {
		return err
	}
	if gi.Mode() != wi.Mode() || !gi.ModTime().Equal(wi.ModTime()) {
		return fmt.Errorf("mode or mtime differ: %v %v, want %v %v", gi.Mode(), gi.ModTime(), wi.Mode(), wi.ModTime())
	}
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		a, _ := os.Readlink(want)
		b, err := os.Readlink(got)
		if err != nil || a != b {
			return fmt.Errorf("link target %q, want %q", b, a)
		}
	case d.Type().IsRegular():
		a, err := os.ReadFile(want)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(got)
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			return fmt.Errorf("content differs")
		}
	}
	return nil
}
