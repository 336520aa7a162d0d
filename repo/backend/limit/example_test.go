package limit_test

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

func Example() {
	ctx := context.Background()
	// At most 4 calls at once, 10 MiB/s up and 50 MiB/s down, shared by
	// every call through be.
	be := limit.New(mem.New(), limit.Options{Upload: 10 << 20, Download: 50 << 20, Connections: 4})
	h := backend.Handle{Type: backend.SnapshotFile, Name: "3fa2"}

	if err := be.Save(ctx, h, backend.NewByteReader([]byte("hello"))); err != nil {
		fmt.Println(err)
	}
	data, err := backend.LoadAll(ctx, be, h)
	fmt.Println(string(data), err)
	// Output:
	// hello <nil>
}
