package crypto

import (
	"testing"
)

// FuzzParseKeyFile feeds arbitrary bytes to the key file decoder: it must
// return a file or an error, never panic, and a parsed file must open
// without panicking.
func FuzzParseKeyFile(f *testing.F) {
	k, err := NewRandomKey()
	if err != nil {
		f.Fatal(err)
	}
	kf, err := NewKeyFile(k, "pw", cheapKDF)
	if err != nil {
		f.Fatal(err)
	}
	good, err := kf.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		if parsed.KDF.MemoryKiB > 1<<16 || parsed.KDF.Time > 4 {
			return // valid but too slow to derive in a fuzz loop
		}
		if key, err := parsed.Open("pw"); err == nil && key == nil {
			t.Fatal("Open returned neither key nor error")
		}
	})
}
