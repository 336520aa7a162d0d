// Package backendtest is the conformance suite every backend.Backend must
// pass. A backend's own test calls Run with a constructor:
//
//	func TestBackend(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend {
//			return mem.New()
//		})
//	}
//
// The suite tests behaviour a caller can observe through the interface, never
// how a backend stores things, so the same tests hold for a directory, memory
// and a remote object store. Each subtest gets a fresh, empty backend from the
// constructor, which may use t (t.TempDir, t.Cleanup) to set it up and tear it
// down.
//
// The contract checked here, beyond the doc comments of backend.Backend:
//
//   - Save never overwrites. A second Save of a handle fails with an error
//     wrapping backend.ErrExists and leaves the first object intact, also when
//     many goroutines race to save the same handle: exactly one wins.
//   - A Save that fails, because rd fails, yields fewer bytes than it claims or
//     the context is cancelled, leaves no object behind.
//   - Save does not keep the caller's buffer: changing it afterwards does not
//     change the object.
//   - Load reads exactly the requested range. Length 0 means "to the end", so
//     offset == size with length 0 is an empty read; any range that reaches
//     past the end is an error wrapping io.ErrUnexpectedEOF. Negative offsets
//     and lengths are errors. fn may stop reading early.
//   - The error returned by Load's or List's fn is returned unchanged, and List
//     calls fn no more after it failed.
//   - Load, Stat and Remove of a missing object fail with an error wrapping
//     backend.ErrNotFound; so does a second Remove.
//   - List reports exactly the stored objects of a type with their sizes, each
//     once; for ConfigFile that is the config object (Name "") if it exists.
//     Stat reports the same name and size.
//   - Handles that fail Handle.Valid, and unknown file types, are rejected
//     by every method without touching anything.
//   - A cancelled context makes every method fail with an error wrapping
//     context.Canceled, and a Remove that fails this way removes nothing.
//   - Callbacks may call the backend again: a List fn may Load and a Load fn
//     may Stat, without deadlock.
package backendtest
