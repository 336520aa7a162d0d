// Package limit wraps a Backend so that a backup does not starve the
// machines it shares a network or a store with: it caps the upload and
// download rates and the number of calls in flight.
//
// The limits belong to the wrapper, not to a call: every call through the
// same *Backend shares one upload budget, one download budget and one set
// of connection slots, however many goroutines make them.
//
// Rates are token buckets (golang.org/x/time/rate) that allow a burst of up
// to one second's worth of bytes, and at least 64 KiB. Upload counts the
// bytes Save's inner backend reads from the RewindReader, so a retried Save
// that rewinds pays again for what it sends again; Download counts the bytes
// Load's fn reads. Bytes are paid for after they are read and before they
// are handed on, so short reads cost only what they return.
//
// A connection slot is taken before the inner call and held until it
// returns, a Load's fn included: the reader fn drains is the open
// connection. A List lets go of its slot while its fn runs and takes one
// again afterwards, so a List fn may call the backend even with one slot.
// A Load fn that calls the backend needs a second slot.
//
// Waiting for a slot or for tokens ends when the call's context does, with
// an error wrapping the context's error.
package limit
