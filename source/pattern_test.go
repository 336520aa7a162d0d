package source

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		match   bool
		inside  bool
	}{
		{"*.log", "x.log", true, true},
		{"*.log", "a/b/x.log", true, true},
		{"*.log", "a/b/x.txt", false, true},
		{"/*.log", "a/x.log", false, false},
		{"/*.log", "x.log", true, true},
		{"cache/tmp", "home/cache/tmp", true, true},
		{"cache/tmp", "home/cache/tmp/deep/file", true, true},
		{"cache/tmp", "home/cache/tmpx", false, true},
		{"/home/cache", "home", false, true},
		{"/home/cache", "var", false, false},
		{"/home/**/x", "home/a/b/x", true, true},
		{"/home/**/x", "home/x", true, true},
		{"/home/**/x", "home/a/b", false, true},
		{"/a/b/", "a/b/c", true, true},
		{"name with space", "d/name with space", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.path, func(t *testing.T) {
			ps, err := ParsePatterns([]string{tt.pattern})
			require.NoError(t, err)
			require.Equal(t, tt.match, ps.Match(tt.path))
			require.Equal(t, tt.inside, ps.MayMatchInside(tt.path))
		})
	}
}

func TestPatternsInvalid(t *testing.T) {
	for _, p := range []string{"", "/", "a/[", "[z-"} {
		_, err := ParsePatterns([]string{p})
		require.Error(t, err, p)
	}
}

func TestValidPath(t *testing.T) {
	for _, p := range []string{".", "a", "a/b", "a b/c\nd", "ü/…"} {
		require.NoError(t, ValidPath(p), p)
	}
	for _, p := range []string{"", "..", "a/../b", "/a", "a//b", "a/", "./a", "a/.", "a\x00b"} {
		require.ErrorIs(t, ValidPath(p), ErrUnsafePath, p)
	}
}

func TestUnixPerm(t *testing.T) {
	for _, m := range []uint32{0, 0o644, 0o777, 0o4755, 0o2750, 0o1777, 0o7000} {
		require.Equal(t, m, UnixPerm(PermFromUnix(m)), "%o", m)
	}
	require.Equal(t, fs.ModeSetuid|fs.ModeSticky|0o700, PermFromUnix(0o5700|0o100000))
}
