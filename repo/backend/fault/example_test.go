package fault_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// A crash test: let the work write a given number of objects, then look at
// what the "disk" holds.
func ExampleBackend_StopAfter() {
	ctx := context.Background()
	disk := mem.New()
	f := fault.New(disk)
	f.StopAfter(1)

	for _, name := range []string{"aa01", "aa02"} {
		h := backend.Handle{Type: backend.SnapshotFile, Name: name}
		err := f.Save(ctx, h, backend.NewByteReader([]byte("snapshot")))
		fmt.Println(name, err, errors.Is(err, fault.ErrStopped))
	}
	_ = disk.List(ctx, backend.SnapshotFile, func(fi backend.FileInfo) error {
		fmt.Println("on disk:", fi.Name)
		return nil
	})
	fmt.Printf("%+v\n", f.Counts())
	// Output:
	// aa01 <nil> false
	// aa02 save snapshots/aa02: fault: backend stopped (simulated crash) true
	// on disk: aa01
	// {Save:1 Load:0 Stat:0 List:0 Remove:0 Failed:1 BytesSaved:8 BytesLoaded:0}
}
