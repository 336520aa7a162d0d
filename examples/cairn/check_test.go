package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
)

// maintTwoSnapshots makes a repository with two snapshots of different
// directories, sharing no data, and returns their IDs and the pack files
// that only the first one uses, largest (its data) first.
func maintTwoSnapshots(t *testing.T, c *cli) (first, second repo.ID, firstPacks []string) {
	t.Helper()
	c.ok("init")
	base := t.TempDir()
	first = maintBackup(t, c, filepath.Join(base, "one"), map[string]string{"big.bin": maintRandom(200_000)})
	firstPacks = maintPackFiles(t, c)
	second = maintBackup(t, c, filepath.Join(base, "two"), map[string]string{"other.txt": rand.Text()})
	return first, second, firstPacks
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	first, second, firstPacks := maintTwoSnapshots(t, c)

	require.Contains(t, c.ok("check"), "no errors found")
	var rep checkJSON
	c.okJSON(&rep, "check", "--read-data")
	require.True(t, rep.OK)
	require.Equal(t, 2, rep.Snapshots)
	require.Equal(t, rep.Packs, rep.PacksRead)
	for _, subset := range []string{"1/2", "2/2", "50%", "100%"} {
		c.okJSON(&rep, "check", "--read-data-subset", subset)
		require.True(t, rep.OK, subset)
	}
	for _, bad := range []string{"0/2", "3/2", "a/b", "half", "0%", "150%"} {
		c.fails(exitError, `see "cairn help"`, "check", "--read-data-subset", bad)
	}
	c.fails(exitError, "exclude each other", "check", "--read-data", "--read-data-subset", "1/2")

	// Lose the pack with the first snapshot's data.
	lost := firstPacks[0]
	require.NoError(t, os.Remove(lost))
	packID := filepath.Base(lost)
	r := c.fails(exitError, "the repository is damaged", "check")
	require.Contains(t, r.stdout, "missing pack: pack "+packID)
	require.Contains(t, r.stdout, "harms snapshots "+first.Short()+"\n")
	require.Contains(t, r.stderr, first.Short())
	require.NotContains(t, r.stdout+r.stderr, second.Short())

	r = c.fails(exitError, "the repository is damaged", "check", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.False(t, rep.OK)
	require.Len(t, rep.Problems, 1)
	require.Equal(t, "missing pack", rep.Problems[0].Kind)
	require.Contains(t, rep.Problems[0].Error, packID)
	require.Equal(t, []repo.ID{first}, rep.Problems[0].Snapshots)
	require.Equal(t, []repo.ID{first}, rep.Damaged)

	// Listing changes nothing; --forget-damaged removes the harmed
	// snapshot only.
	out := c.ok("repair", "snapshots")
	require.Contains(t, out, "damaged snapshot "+first.Short())
	require.Contains(t, out, "--forget-damaged")
	require.Len(t, snapshotIDs(t, c), 2)
	var res repairSnapshotsJSON
	c.okJSON(&res, "repair", "snapshots", "--forget-damaged")
	require.Equal(t, []repo.ID{first}, res.Removed)
	require.Equal(t, []string{second.Short()}, snapshotIDs(t, c))

	// The index still names the lost pack until it is rebuilt.
	c.fails(exitError, "1 problem", "check")
	c.ok("repair", "index")
	require.Contains(t, c.ok("check", "--read-data"), "no errors found")
	c.ok("restore", "latest", "--target", t.TempDir(), "--verify")
}

func TestCheckHarmlessWarning(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	first, _, firstPacks := maintTwoSnapshots(t, c)
	// A pack no index names and no snapshot needs, as a crashed backup
	// leaves: forget the snapshot that used it, rebuild the index without
	// it, and put it back.
	c.ok("forget", first.Short())
	saved, err := os.ReadFile(firstPacks[0])
	require.NoError(t, err)
	require.NoError(t, os.Remove(firstPacks[0]))
	c.ok("repair", "index")
	require.NoError(t, os.WriteFile(firstPacks[0], saved, 0o600))
	out := c.ok("check")
	require.Contains(t, out, "warning: unreferenced pack: pack "+filepath.Base(firstPacks[0]))
	require.Contains(t, out, "no errors found")
}

func TestRepairIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, indexDir string)
		// what fails before the repair, and how
		args       []string
		msg        string
		unreadable bool // whether the rebuild reports an index file it cannot read
	}{
		{"index files deleted", func(t *testing.T, dir string) {
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NoError(t, os.Remove(filepath.Join(dir, e.Name())))
			}
		}, []string{"ls", "latest"}, "not in index", false},
		{"index file overwritten", func(t *testing.T, dir string) {
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, entries[0].Name()), []byte("garbage"), 0o600))
		}, []string{"snapshots"}, "\"cairn repair index\" rebuilds the index", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			_, _, _ = maintTwoSnapshots(t, c)
			tt.damage(t, filepath.Join(c.repo, "index"))
			c.fails(exitError, tt.msg, tt.args...)

			var rep rebuildJSON
			c.okJSON(&rep, "repair", "index")
			require.Equal(t, len(maintPackFiles(t, c)), rep.Packs)
			require.NotZero(t, rep.Blobs)
			if tt.unreadable {
				require.Len(t, rep.Unreadable, 1)
				require.Equal(t, "unreadable index file", rep.Unreadable[0].Kind)
			} else {
				require.Empty(t, rep.Unreadable)
			}
			require.Len(t, snapshotIDs(t, c), 2)
			for _, id := range snapshotIDs(t, c) {
				c.ok("restore", id, "--target", filepath.Join(t.TempDir(), id), "--verify")
			}
			require.Contains(t, c.ok("check", "--read-data"), "no errors found")
		})
	}
	t.Run("usage", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t)
		c.fails(exitError, "give index or snapshots", "repair")
		c.fails(exitError, "give index or snapshots", "repair", "everything")
		c.fails(exitError, "go with repair snapshots", "repair", "index", "--forget-damaged")
	})
}
