package testpg

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStart(t *testing.T) {
	var dir string
	t.Run("server", func(t *testing.T) {
		s := Start(t)
		dir = s.Dir
		require.Equal(t, "1|postgres", s.Exec(t, "postgres", "SELECT 1, current_user"))
		require.Equal(t, "off", s.Exec(t, "postgres", "SHOW fsync"))
		require.Empty(t, s.Exec(t, "postgres", "SHOW listen_addresses"), "no TCP")
		require.FileExists(t, filepath.Join(s.Dir, ".s.PGSQL."+strconv.Itoa(s.Port)))

		out, err := s.Cmd(t.Context(), "createdb", "other").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "2\n3", s.Exec(t, "other", "CREATE TABLE x (a int); INSERT INTO x VALUES (2), (3); SELECT a FROM x ORDER BY a"))

		out, err = s.Cmd(t.Context(), "psql", "-X", "-d", "nosuchdb", "-c", "SELECT 1").CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "nosuchdb")
	})
	if dir != "" {
		_, err := os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist, "cleanup removes the server's directory")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"15", "15", 0},
		{"9.6", "15", -1},
		{"16", "15", 1},
		{"16.1", "16", 1},
		{"10", "9.6", 1},
	} {
		got := compareVersions(tc.a, tc.b)
		require.Equal(t, tc.want, max(-1, min(1, got)), "%s vs %s", tc.a, tc.b)
	}
}

func TestRun(t *testing.T) {
	s, stop, err := Run("", t.Logf)
	if errors.Is(err, ErrUnavailable) {
		unavailable(t, err)
	}
	require.NoError(t, err)
	require.Equal(t, "1", s.Exec(t, "postgres", "SELECT 1"))
	require.NoError(t, stop())
	require.NoDirExists(t, s.Dir, "stop removes the server's directory")
}
