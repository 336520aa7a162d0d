package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBackupRestore(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := filepath.Join(t.TempDir(), "src")
	big := rand.Text() + string(make([]byte, 300_000)) + rand.Text()
	kept := map[string]string{
		"a.txt": "hello\n", "empty": "", "sub/b.bin": big, "sub/deep/c.txt": "deep\n", "link": "->a.txt",
	}
	writeTree(t, src, kept)
	writeTree(t, src, map[string]string{"x.skip": "excluded by pattern", "cache/.nobackup": "", "cache/data": "excluded"})
	c.ok("init")

	first := jsonLines[backupResult](t, c.ok("backup", "--json", "--tag", "daily", "--tag", "test", "--host", "testhost",
		"--exclude", "*.skip", "--exclude-if-present", ".nobackup", src))
	require.Len(t, first, 1)
	id := first[0].SnapshotID
	require.False(t, first[0].Partial)
	require.Equal(t, uint64(4), first[0].FilesNew)

	t.Run("snapshots", func(t *testing.T) {
		c := c.on(t)
		var list []snapshotJSON
		c.okJSON(&list, "snapshots")
		require.Len(t, list, 1)
		require.Equal(t, id.String(), list[0].ID)
		require.Equal(t, []string{"daily", "test"}, list[0].Tags)
		require.Equal(t, "testhost", list[0].Host)
		require.Equal(t, []string{src}, list[0].Paths)
		require.Contains(t, c.ok("snapshots"), id.Short())
		for filter, want := range map[string]int{"daily,test": 1, "daily,nope": 0, "nope": 0} {
			c.okJSON(&list, "snapshots", "--tag", filter)
			require.Len(t, list, want, filter)
		}
		c.okJSON(&list, "snapshots", "--host", "otherhost")
		require.Empty(t, list)
	})

	t.Run("ls", func(t *testing.T) {
		c := c.on(t)
		require.Equal(t, "/a.txt\n/empty\n/link\n/sub\n/sub/b.bin\n/sub/deep\n/sub/deep/c.txt\n", c.ok("ls", "latest"))
		require.Equal(t, "/sub/b.bin\n/sub/deep\n/sub/deep/c.txt\n", c.ok("ls", id.Short(), "/sub"))
		long := strings.Split(c.ok("ls", "-l", "latest"), "\n")
		require.True(t, strings.HasPrefix(long[0], "-rw-r--r-- "), long[0])
		require.True(t, strings.HasSuffix(long[2], " /link -> a.txt"), long[2])
		require.True(t, strings.HasPrefix(long[3], "drwx"), long[3])
		entries := jsonLines[map[string]any](t, c.ok("ls", "--json", "latest", "sub"))
		require.Len(t, entries, 3)
		require.Equal(t, "/sub/b.bin", entries[0]["path"])
		require.Equal(t, "file", entries[0]["type"])
		require.EqualValues(t, len(big), entries[0]["size"])
		c.fails(exitError, "/nope: not found in snapshot", "ls", "latest", "/nope")
	})

	t.Run("dump", func(t *testing.T) {
		c := c.on(t)
		require.Equal(t, big, c.ok("dump", "latest", "/sub/b.bin"))
		require.Equal(t, "hello\n", c.ok("dump", id.String(), "link"))
		c.fails(exitError, "is a directory", "dump", "latest", "sub")
	})

	t.Run("restore", func(t *testing.T) {
		c := c.on(t)
		out := filepath.Join(t.TempDir(), "out")
		var res restoreResult
		c.okJSON(&res, "restore", id.Short(), "--target", out, "--verify")
		require.Equal(t, uint64(4), res.Files)
		require.Equal(t, kept, readTree(t, out))

		c.okJSON(&res, "restore", "latest", "--target", out, "--overwrite", "never")
		require.NotZero(t, res.Skipped)
		require.Equal(t, kept, readTree(t, out))

		part := filepath.Join(t.TempDir(), "part")
		c.ok("restore", "latest", "--target", part, "--path", "/sub", "--include", "*.bin")
		require.Equal(t, map[string]string{"b.bin": big}, readTree(t, part))

		c.ok("restore", "latest", "--target", part, "--exclude", "deep")
		require.NotContains(t, readTree(t, part), "sub/deep/c.txt")
		require.Contains(t, readTree(t, part), "a.txt")
	})

	t.Run("incremental", func(t *testing.T) {
		c := c.on(t)
		second := jsonLines[map[string]any](t, c.ok("backup", "--json", "--host", "testhost",
			"--exclude", "*.skip", "--exclude-if-present", ".nobackup", src))
		require.Len(t, second, 1)
		require.EqualValues(t, 4, second[0]["files_unchanged"])
		require.EqualValues(t, 0, second[0]["bytes_read"])
		require.Equal(t, id.String(), second[0]["parent"])

		out := c.ok("backup", "--host", "testhost", "--force", src)
		require.Contains(t, out, "saved for "+src)
		var list []snapshotJSON
		c.okJSON(&list, "snapshots")
		require.Len(t, list, 3)
		require.Nil(t, list[2].Parent)
		require.NotZero(t, list[2].Summary.BytesRead)
	})

	t.Run("stats", func(t *testing.T) {
		c := c.on(t)
		var st statsJSON
		c.okJSON(&st, "stats")
		require.Equal(t, 3, st.Snapshots)
		require.NotZero(t, st.RawBytes)
		require.NotZero(t, st.DataBlobs)
		require.Greater(t, st.Ratio, 0.0)
		require.Contains(t, c.ok("stats"), "compression ratio")
	})
}

func TestBackupSeveralPaths(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	base := t.TempDir()
	one, two := filepath.Join(base, "one"), filepath.Join(base, "two")
	writeTree(t, one, map[string]string{"f": "1"})
	writeTree(t, two, map[string]string{"g": "2"})
	c.ok("init")
	require.Len(t, jsonLines[backupResult](t, c.ok("backup", "--json", one, two)), 2)
	var list []snapshotJSON
	c.okJSON(&list, "snapshots")
	require.Len(t, list, 2)
	require.ElementsMatch(t, [][]string{{one}, {two}}, [][]string{list[0].Paths, list[1].Paths})
	c.fails(exitError, "--parent needs a single PATH", "backup", "--parent", "latest", one, two)
	c.fails(exitError, "no such file", "backup", filepath.Join(base, "missing"))
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	noRepo := *c
	noRepo.repo = ""
	noPassword := *c
	noPassword.password = ""
	wrongPassword := *c
	wrongPassword.password = "wrong"
	missing := *c
	missing.repo = filepath.Join(t.TempDir(), "nothing")
	tests := []struct {
		name string
		c    *cli
		args []string
		msg  string
	}{
		{"no repository given", &noRepo, []string{"snapshots"}, "use --repo DIR (or s3:https://HOST/BUCKET) or set CAIRN_REPOSITORY"},
		{"no password given", &noPassword, []string{"snapshots"}, "set CAIRN_PASSWORD or use --password-file FILE"},
		{"no repository there", &missing, []string{"snapshots"}, "no repository at " + missing.repo},
		{"wrong password", &wrongPassword, []string{"snapshots"}, "wrong password or no key for it"},
		{"snapshot not found", c, []string{"ls", "abcdef12"}, `snapshot "abcdef12" not found`},
		{"no latest snapshot", c, []string{"dump", "latest", "x"}, "the repository has none yet"},
		{"init twice", c, []string{"init"}, "a repository exists at"},
		{"unknown verb", c, []string{"frob"}, `unknown verb "frob"`},
		{"unknown flag", c, []string{"snapshots", "--frob"}, "flag provided but not defined: -frob"},
		{"restore without target", c, []string{"restore", "latest"}, "--target DIR or --docker-volume NAME is required"},
		{"bad overwrite mode", c, []string{"restore", "latest", "--target", "x", "--overwrite", "sometimes"}, "want always, if-changed or never"},
		{"missing password file", &noPassword, []string{"--password-file", "/nonexistent", "stats"}, "password file"},
		{"parent and force", c, []string{"backup", "--parent", "latest", "--force", "."}, "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.on(t).fails(exitError, tt.msg, tt.args...)
		})
	}

	t.Run("json error", func(t *testing.T) {
		c := c.on(t)
		r := c.fails(exitError, "error", "--json", "ls", "abcdef12")
		var e map[string]string
		require.NoError(t, json.Unmarshal([]byte(r.stderr), &e), r.stderr)
		require.Equal(t, `snapshot "abcdef12" not found`, e["error"])
	})
	t.Run("empty repository", func(t *testing.T) {
		c := c.on(t)
		require.Equal(t, "no snapshots\n", c.ok("snapshots"))
		require.Equal(t, "[]\n", c.ok("snapshots", "--json"))
		var st statsJSON
		c.okJSON(&st, "stats")
		require.Equal(t, statsJSON{}, st)
	})
	t.Run("help", func(t *testing.T) {
		c := c.on(t)
		require.Contains(t, c.ok("help"), "backup")
		require.Contains(t, c.ok("help", "backup"), "one snapshot per PATH")
		require.Contains(t, c.ok("restore", "-h"), "--target")
	})
	t.Run("flags after the verb", func(t *testing.T) {
		c := c.on(t)
		pwFile := filepath.Join(t.TempDir(), "pw")
		require.NoError(t, os.WriteFile(pwFile, []byte(c.password+"\n"), 0o600))
		d := &cli{t: t}
		require.Equal(t, "[]\n", d.ok("snapshots", "--repo", c.repo, "--password-file", pwFile, "--json"))
		require.Equal(t, "[]\n", d.ok("--json", "--repo", c.repo, "--password-file", pwFile, "snapshots"))
	})
}

func TestKeys(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	var keys []keyJSON
	c.okJSON(&keys, "key", "list")
	require.Len(t, keys, 1)
	first := keys[0].ID

	c.fails(exitError, "CAIRN_NEW_PASSWORD", "key", "add")
	var added struct{ ID string }
	c.with(envNewPassword+"=second").okJSON(&added, "key", "add", "--host", "elsewhere")

	c2 := *c
	c2.password = "second"
	c2.okJSON(&keys, "key", "list")
	require.Len(t, keys, 2)
	require.Equal(t, added.ID, keys[1].ID.String())
	require.True(t, keys[1].Current)
	require.Equal(t, "elsewhere", keys[1].Host)
	require.Contains(t, c2.ok("key", "list"), "*"+keys[1].ID.Short())

	c.fails(exitError, "is the one in use", "key", "remove", first.Short())
	c2.ok("key", "remove", first.Short())
	c.fails(exitError, "wrong password or no key for it", "snapshots")

	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("third\n"), 0o600))
	c2.ok("key", "passwd", "--new-password-file", pwFile)
	c2.fails(exitError, "wrong password or no key for it", "snapshots")
	c3 := *c
	c3.password = "third"
	c3.okJSON(&keys, "key", "list")
	require.Len(t, keys, 1)
	require.True(t, keys[0].Current)
	c3.fails(exitError, `key "ffff" not found`, "key", "remove", "ffff")
}

// TestUnreadableFile checks exit status 3: a snapshot saved without a file
// that could not be read. Root reads everything, so as root the backup runs
// as the user nobody.
func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "cairn-unreadable-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	src := filepath.Join(base, "src")
	writeTree(t, src, map[string]string{"ok.txt": "fine", "secret.txt": "hidden"})
	c := &cli{t: t, repo: filepath.Join(base, "repo"), password: "pw"}
	c.ok("init")

	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skipf("running as root and no user nobody to run the backup as: %v", err)
		}
		c.cred = &syscall.Credential{Uid: atoi(t, nobody.Uid), Gid: atoi(t, nobody.Gid)}
		require.NoError(t, filepath.Walk(base, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
		}))
		if r := c.run("help"); r.code != 0 {
			t.Skipf("cannot run the command as nobody: %s", r.stderr)
		}
	}
	require.NoError(t, os.Chmod(filepath.Join(src, "secret.txt"), 0))

	r := c.fails(exitPartial, "secret.txt", "backup", src)
	require.Contains(t, r.stderr, "permission denied")
	require.Contains(t, r.stdout, "1 files could not be read")
	var list []snapshotJSON
	c.okJSON(&list, "snapshots")
	require.Len(t, list, 1)
	require.Len(t, list[0].Summary.Errors, 1)
	require.Equal(t, "/ok.txt\n", c.ok("ls", "latest"))
}

func atoi(t *testing.T, s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	require.NoError(t, err)
	return uint32(n)
}
