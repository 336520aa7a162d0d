package measure

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocEnv makes the test binary, run as a command, hold that many MiB.
const allocEnv = "CAIRN_MEASURE_TEST_ALLOC"

func TestMain(m *testing.M) {
	Wrapped()
	if n, err := strconv.Atoi(os.Getenv(allocEnv)); err == nil {
		b := make([]byte, n<<20)
		for i := range b {
			b[i] = 1
		}
		os.Exit(int(b[len(b)-1]) + 1) // 2: used, and a non-zero exit
	}
	os.Exit(m.Run())
}

// The parent's memory does not show in the child's peak: this test holds
// 256 MiB while it measures a child that holds 32. Measured straight from
// here, the child's peak would be at least this process's. (Under the race
// detector both are several times larger, so compare them, not a bound.)
func TestPeakIsTheChilds(t *testing.T) {
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = 1
	}
	var self syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &self))
	parent := self.Maxrss << 10
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), allocEnv+"=32")
	u, err := Run(context.Background(), cmd)
	var exit *ExitError
	require.True(t, errors.As(err, &exit), "got %v", err)
	require.Equal(t, 2, exit.Code)
	require.Greater(t, u.MaxRSS, int64(32<<20))
	require.Less(t, u.MaxRSS, parent-(128<<20), "the parent's %d MiB must not count", parent>>20)
	require.Positive(t, u.Wall)
	require.Positive(t, u.User+u.Sys)
	require.NotZero(t, big[len(big)-1])
}

func TestStreamsAndDir(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "pwd; cat; echo oops >&2")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("in\n")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_, err := Run(context.Background(), cmd)
	require.NoError(t, err)
	require.Equal(t, dir+"\nin\n", out.String())
	require.Equal(t, "oops\n", errOut.String())
}

func TestNotStarted(t *testing.T) {
	_, err := Run(context.Background(), exec.Command("/nonexistent/tool"))
	require.Error(t, err)
	var exit *ExitError
	require.False(t, errors.As(err, &exit))
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(dir+"/a", make([]byte, 100<<10), 0o644))
	require.NoError(t, os.Mkdir(dir+"/d", 0o755))
	require.NoError(t, os.WriteFile(dir+"/d/b", make([]byte, 50<<10), 0o644))
	n, err := DiskUsage(dir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, int64(150<<10), "the files' blocks")
	require.Less(t, n, int64(400<<10))
	_, err = DiskUsage(dir + "/missing")
	require.Error(t, err)
}
