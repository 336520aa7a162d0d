package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/bench/internal/measure"
)

func TestMain(m *testing.M) {
	measure.Wrapped()
	os.Exit(m.Run())
}

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tree")
	reused, err := generate(ctx, dir, 1500, 7)
	require.NoError(t, err)
	require.False(t, reused)
	files, size, err := readTree(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, 1500, files)
	require.InDelta(t, 1500*maxSize/2, size, 1500*maxSize/10)

	// Leaf directories of filesPerDir files; some files share content.
	for leaf, want := range map[string]int{"d00": filesPerDir, "d01": 1500 - filesPerDir} {
		entries, err := os.ReadDir(filepath.Join(dir, "d000", leaf))
		require.NoError(t, err)
		require.Len(t, entries, want)
	}
	vocab := vocabulary(7)
	seen := map[string]int{}
	for i := range 1500 {
		b, err := os.ReadFile(filepath.Join(dir, filePath(i)))
		require.NoError(t, err)
		require.Equal(t, string(content(nil, 7, i, vocab)), string(b))
		if len(b) > 0 {
			seen[string(b)]++
		}
	}
	// A quarter of the files draw from 500 contents: about 110 of 1500 repeat one.
	require.Greater(t, 1500-len(seen), 1500/20, "some files are copies")
	require.Greater(t, len(seen), 1500/2, "most are unique")

	reused, err = generate(ctx, dir, 1500, 7)
	require.NoError(t, err)
	require.True(t, reused, "same n and seed: the tree is reused")
	reused, err = generate(ctx, dir, 100, 7)
	require.NoError(t, err)
	require.False(t, reused, "another n: the tree is remade")
	files, _, err = readTree(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, 100, files)

	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "precious"), nil, 0o644))
	_, err = generate(ctx, other, 100, 7)
	require.ErrorContains(t, err, "will not overwrite")
	require.FileExists(t, filepath.Join(other, "precious"))
}

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cairn and runs backups")
	}
	var out bytes.Buffer
	cfg := config{n: 200, seed: 1, dir: filepath.Join(t.TempDir(), "tree"), tools: []string{"cairn"}, log: &bytes.Buffer{}}
	require.NoError(t, run(context.Background(), cfg, &out))
	require.Contains(t, out.String(), "200 files")
	require.Regexp(t, `cairn +first( +[0-9.]+){6}\s`, out.String())
	require.Regexp(t, `cairn +unchanged( +[0-9.]+){6}\s`, out.String())
}
