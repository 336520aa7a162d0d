package testsrc

import (
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Random writes files of seeded random bytes, for tests that need data
// that does not compress or deduplicate. The same seed gives the same
// files.
type Random struct {
	rng *rand.Rand
}

// NewRandom returns a Random for seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, 1))}
}

// IntN returns a number in [0, n) from the same stream.
func (r *Random) IntN(n int) int { return r.rng.IntN(n) }

// WriteFile writes n random bytes to dir/name, making the folders on the
// way.
func (r *Random) WriteFile(dir, name string, n int) error {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.rng.Uint32())
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}
