package pack

import (
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
)

// Error is a problem with one pack. It names the pack, so a message points at
// the object to inspect, and wraps the cause (often crypto.ErrCorrupt).
type Error struct {
	Pack crypto.ID
	Op   string // what was being done: "header", "blob 3fa2…", "name"
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("pack %s: %s: %v", e.Pack, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func corrupt(id crypto.ID, op, format string, args ...any) error {
	return &Error{Pack: id, Op: op, Err: fmt.Errorf(format+": %w", append(args, crypto.ErrCorrupt)...)}
}
