package mem_test

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

func Example() {
	ctx := context.Background()
	be := mem.New()
	h := backend.Handle{Type: backend.SnapshotFile, Name: "3fa2"}

	if err := be.Save(ctx, h, backend.NewByteReader([]byte("hello"))); err != nil {
		fmt.Println(err)
	}
	err := be.Save(ctx, h, backend.NewByteReader([]byte("again")))
	fmt.Println(err)

	data, err := backend.LoadAll(ctx, be, h)
	fmt.Println(string(data), err)
	// Output:
	// save snapshots/3fa2: already exists
	// hello <nil>
}
