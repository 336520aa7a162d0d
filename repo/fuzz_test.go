package repo

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/internal/envelope"
)

// FuzzDecodeSnapshot feeds arbitrary payloads to the snapshot decoder, the
// code that interprets a snapshot once it is authenticated.
func FuzzDecodeSnapshot(f *testing.F) {
	good, err := json.Marshal(&Snapshot{Time: time.Unix(1, 0), Tree: ID{1}, Tags: []string{"a"},
		Summary: &Summary{FilesNew: 1}, Source: SourceInfo{Kind: "dir", Details: json.RawMessage(`{"x":1}`)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		sn, err := decodeSnapshot(payload)
		if err != nil {
			return
		}
		if sn.Tree.IsZero() || sn.Time.IsZero() {
			t.Fatal("accepted a snapshot without tree or time")
		}
		if _, err := json.Marshal(sn); err != nil {
			t.Fatalf("decoded snapshot does not encode: %v", err)
		}
	})
}

// FuzzDecodeConfig feeds arbitrary sealed configs, valid ones among the
// seeds, to the config decoder.
func FuzzDecodeConfig(f *testing.F) {
	k, err := crypto.NewRandomKey()
	if err != nil {
		f.Fatal(err)
	}
	payload, err := json.Marshal(Config{ID: ID{1}, Created: time.Unix(1, 0), Chunking: chunk.DefaultParams()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(envelope.Seal(k, envelope.Config, payload, compress.Off))
	f.Add(envelope.Seal(k, envelope.Config, []byte(`{"id":"00"}`), compress.Off))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := decodeConfig(k, data)
		if err == nil && cfg.validate() != nil {
			t.Fatal("accepted an invalid config")
		}
	})
}

func FuzzDecodeLock(f *testing.F) {
	now := time.Unix(1, 0).UTC()
	good, err := json.Marshal(LockInfo{Operation: "backup", Host: "h", PID: 1, Since: now, Time: now, StaleAfter: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","stale_after":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		info, err := decodeLock(payload)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if info.Time.IsZero() || info.Since.IsZero() || info.StaleAfter <= 0 {
			t.Fatalf("accepted %+v", info)
		}
		again, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeLock(again); err != nil {
			t.Fatalf("re-encoded lock refused: %v", err)
		}
	})
}
