package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/repo/backend/retry"
)

// A store that fails once: the caller sees only the success, and Notify is
// the place to log what happened on the way.
func Example() {
	ctx := context.Background()
	store := fault.New(mem.New())
	be := retry.New(store, retry.Options{
		InitialDelay: time.Millisecond,
		Notify: func(op string, h backend.Handle, attempt int, err error, _ time.Duration) {
			fmt.Printf("retrying %s %v after attempt %d: %v\n", op, h, attempt, err)
		},
	})

	h := backend.Handle{Type: backend.SnapshotFile, Name: "aa01"}
	store.FailAfter(0) // the next call fails, once
	err := be.Save(ctx, h, backend.NewByteReader([]byte("snapshot")))
	fmt.Println("save:", err)

	data, err := backend.LoadAll(ctx, be, h)
	fmt.Printf("load: %q %v\n", data, err)
	fmt.Printf("%+v\n", store.Counts())
	// Output:
	// retrying save snapshots/aa01 after attempt 1: save snapshots/aa01: fault: injected error
	// save: <nil>
	// load: "snapshot" <nil>
	// {Save:1 Load:1 Stat:0 List:0 Remove:0 Failed:1 BytesSaved:8 BytesLoaded:8}
}

// A backend marks an error no retry can get past with backend.Permanent, and
// the wrapper returns it after one attempt, without waiting.
func Example_permanent() {
	ctx := context.Background()
	store := fault.New(mem.New())
	errDenied := errors.New("403 access denied")
	store.FailOn(func(fault.Op, backend.Handle) error { return backend.Permanent(errDenied) })
	be := retry.New(store, retry.Options{}) // the defaults: a retry would wait

	_, err := be.Stat(ctx, backend.Handle{Type: backend.SnapshotFile, Name: "aa01"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, errDenied), backend.IsPermanent(err))
	fmt.Println("attempts:", store.Counts().Failed)
	// Output:
	// stat snapshots/aa01: 403 access denied
	// true true
	// attempts: 1
}
