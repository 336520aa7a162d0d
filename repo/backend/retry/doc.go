// Package retry wraps a Backend so that calls failing for a passing reason,
// such as a timeout, a reset connection or a server error, are tried again
// after a wait, and the caller only sees failures that stayed.
//
// Waits grow exponentially from Options.InitialDelay up to Options.MaxDelay,
// each drawn at random between zero and that bound ("full jitter"), so that
// many clients failing together do not retry together. A call is tried at
// most Options.MaxAttempts times; the error after the last attempt says how
// many there were and wraps the last error.
//
// What is never retried, because another try cannot change the answer:
//
//   - errors wrapping backend.ErrNotFound or backend.ErrExists, and errors
//     marked with backend.Permanent (a backend marks refused credentials
//     and missing permissions that way);
//   - invalid handles, unknown types and negative ranges, which are
//     rejected before the inner backend is called;
//   - a Load whose range reaches past the end of the object, which the
//     inner backend reports with io.ErrUnexpectedEOF before calling fn;
//   - errors made by the caller's own code: the error of Load's or List's
//     fn, unless it arose from reading (see below), and the error of the
//     reader given to Save, which would fail the same way again;
//   - anything once the caller's context is done: the wait is cut short and
//     the error wraps both the context's error and the last error.
//
// Retrying must not change what a call means. So:
//
//   - Save rewinds its reader before every retry. If a retry finds the
//     object already there (ErrExists) after an earlier attempt failed, the
//     earlier attempt stored it after all, its reply lost on the way back;
//     since every object but the config is named by the hash of its bytes,
//     the stored object is the one asked for and Save succeeds. For the
//     config no such conclusion holds, and ErrExists is returned.
//   - Remove that finds the object gone (ErrNotFound) on a retry succeeds:
//     the failed attempt removed it.
//   - Load calls fn again on a retry, with a fresh reader from the start of
//     the range, as the backend.Backend contract allows. The reader fn gets
//     notes its own errors, so an error fn returns after a read failed
//     (a reset connection, or a range that ends early and so wraps
//     io.ErrUnexpectedEOF) is retried, while an error fn returns of its own
//     accord, such as a decoding failure, is returned unchanged. For a range
//     up to the end (length 0) the wrapper does not know the size, and a
//     reader that ends early without an error, against the contract,
//     goes unnoticed.
//   - List remembers the names it has passed to fn, and a retry after a
//     failure part-way skips them, so fn sees every object once.
//
// Because of the Save and Remove rules, the wrapper can report success for a
// call that had no effect of its own: another client saved the same object,
// or removed it, between two attempts. For content-addressed objects that is
// the same outcome.
package retry
