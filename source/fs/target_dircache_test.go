package fs

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func tempDirFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(t.TempDir())
	require.NoError(t, err)
	return f
}

func closed(f *os.File) bool {
	_, err := f.Stat()
	return err != nil
}

func TestDirCache(t *testing.T) {
	var c dirCache
	a := tempDirFile(t)
	releaseA := c.add("a", a)
	got, releaseA2 := c.get("a")
	require.Same(t, a, got)
	f, _ := c.get("b")
	require.Nil(t, f, "never added")

	// Filling the cache evicts "a", the least recently used, but its
	// users still hold it open.
	var others []*os.File
	for i := range dirCacheSize {
		d := tempDirFile(t)
		others = append(others, d)
		c.add(fmt.Sprint("d", i), d)()
	}
	f, _ = c.get("a")
	require.Nil(t, f, "evicted")
	releaseA()
	require.False(t, closed(a), "a user still has it")
	releaseA2()
	require.True(t, closed(a), "closed once the last user is done")
	require.False(t, closed(others[0]))

	// A second open of a cached directory stays its caller's.
	dup := tempDirFile(t)
	c.add(fmt.Sprint("d", dirCacheSize-1), dup)()
	require.True(t, closed(dup))

	c.forget("d3")
	require.True(t, closed(others[3]), "forgotten and unused: closed at once")
	c.closeAll()
	for _, d := range others {
		require.True(t, closed(d))
	}
}
