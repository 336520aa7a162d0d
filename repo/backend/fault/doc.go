// Package fault wraps a Backend to make it fail on purpose, for tests of how
// the code above a backend copes with crashes, transient errors and corrupt
// data. It also counts what passes through, so tests can check how many
// requests and bytes an operation costs.
//
// Faults never reach the inner backend: a call that fails here is not made
// there at all, so the inner backend's state is exactly what the calls that
// passed left behind. That makes the inner backend the "disk after the
// crash" that a test reopens and checks.
//
// Four kinds of fault:
//
//   - StopAfter simulates a crash: after n more saves and removes, every call
//     of any kind fails with ErrStopped, as if the process had died.
//   - FailAfter makes one call fail with ErrInjected, a transient error that a
//     retry gets past.
//   - FailOn fails chosen calls on chosen objects with an error of the
//     test's choice.
//   - CorruptLoad lets a test change the bytes Load hands out, to imitate
//     bit rot on the storage side.
//
// A Backend with no fault set passes everything through unchanged and
// passes the conformance suite.
package fault
