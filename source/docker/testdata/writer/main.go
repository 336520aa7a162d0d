// Command writer fills /data with files of several kinds for the docker
// source's tests. It runs as PID 1 of a FROM scratch container.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	if err := write("/data"); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	big := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"a.txt", []byte("hello, volume\n"), 0o640},
		{"run.sh", []byte("#!/bin/sh\necho hi\n"), 0o755},
		{"suid", []byte("setuid\n"), 0o755 | os.ModeSetuid},
		{"owned.txt", []byte("owned by 1234:5678\n"), 0o644},
		{"sub/nested.txt", []byte("nested\n"), 0o600},
		{"big.bin", big, 0o644},
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o750); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, f.perm); err != nil { // chmod: the umask does not apply
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "sub"), 0o750); err != nil {
		return err
	}
	if err := os.Chown(filepath.Join(dir, "owned.txt"), 1234, 5678); err != nil {
		return err
	}
	if err := os.Link(filepath.Join(dir, "a.txt"), filepath.Join(dir, "b-hardlink")); err != nil {
		return err
	}
	return os.Symlink("sub/nested.txt", filepath.Join(dir, "c-symlink"))
}
