package main

import (
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimitFlags(t *testing.T) {
	c := newCLI(t)
	c.ok("init", "--limit-upload", "1024", "--limit-connections", "2")
	c.ok("--limit-upload", "0", "--limit-download", "100", "--limit-connections", "0", "snapshots")

	for _, tt := range []struct {
		name string
		args []string
		msg  string
	}{
		{"negative upload", []string{"--limit-upload", "-1", "snapshots"}, `invalid value "-1" for flag -limit-upload: must not be negative`},
		{"negative download after verb", []string{"snapshots", "--limit-download=-5"}, "flag -limit-download: must not be negative"},
		{"negative connections", []string{"stats", "--limit-connections", "-2"}, "flag -limit-connections: must not be negative"},
		{"negative read", []string{"backup", "--limit-read", "-1", "."}, "flag -limit-read: must not be negative"},
		{"not a number", []string{"--limit-upload", "fast", "snapshots"}, "not a whole number"},
		{"read is backup's", []string{"snapshots", "--limit-read", "1"}, "flag provided but not defined: -limit-read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.on(t).fails(exitError, tt.msg, tt.args...)
		})
	}

	help := c.ok("help")
	for _, flag := range []string{"-limit-upload KiB", "-limit-download KiB", "-limit-connections N", "0: no limit"} {
		require.Contains(t, help, flag)
	}
	require.Contains(t, c.ok("help", "backup"), "-limit-read KiB")
}

// TestBackupWithLimits backs up 384 KiB read at 128 KiB/s: at least 2 s
// (a burst of 128 KiB passes at once), checked with a margin.
func TestBackupWithLimits(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	src := t.TempDir()
	files := map[string]string{"small": "hello\n"}
	for _, name := range []string{"a", "b", "c"} {
		data := make([]byte, 128<<10)
		_, err := rand.Read(data)
		require.NoError(t, err)
		files[name] = string(data)
	}
	writeTree(t, src, files)

	start := time.Now()
	c.ok("--limit-upload", "4096", "--limit-download", "4096", "--limit-connections", "2",
		"backup", "--limit-read", "128", src)
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)

	out := filepath.Join(t.TempDir(), "out")
	c.ok("restore", "latest", "--target", out, "--verify", "--limit-download", "4096", "--limit-connections", "1")
	require.Equal(t, files, readTree(t, out))
}
