package repo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// DataSubset selects packs for a check to read. Either Part of Of ("2/5"):
// the packs whose ID falls in part Part of Of, the same packs every time,
// so that checking parts 1 to Of reads every pack exactly once; or Fraction
// ("10%" is 0.1): that share of the packs, chosen at random each time. The
// zero value selects none.
type DataSubset struct {
	Part, Of int
	Fraction float64
}

// ParseDataSubset parses "n/m" (1 ≤ n ≤ m) or "p%" (0 < p ≤ 100).
func ParseDataSubset(s string) (DataSubset, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return DataSubset{}, fmt.Errorf("data subset %q: want a percentage above 0 and at most 100, such as 10%%", s)
		}
		return DataSubset{Fraction: f / 100}, nil
	}
	n, m, ok := strings.Cut(s, "/")
	if !ok {
		return DataSubset{}, fmt.Errorf("data subset %q: want n/m (such as 2/5) or a percentage (such as 10%%)", s)
	}
	part, err1 := strconv.Atoi(n)
	of, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil {
		return DataSubset{}, fmt.Errorf("data subset %q: n and m of n/m must be whole numbers", s)
	}
	d := DataSubset{Part: part, Of: of}
	if err := d.validate(); err != nil {
		return DataSubset{}, fmt.Errorf("data subset %q: %w", s, err)
	}
	return d, nil
}

func (d DataSubset) validate() error {
	switch {
	case d == DataSubset{}:
		return nil
	case d.Fraction != 0 && (d.Part != 0 || d.Of != 0):
		return errors.New("give a part n/m or a fraction, not both")
	case d.Fraction != 0:
		if math.IsNaN(d.Fraction) || d.Fraction < 0 || d.Fraction > 1 {
			return fmt.Errorf("fraction %v is not between 0 and 1", d.Fraction)
		}
	case d.Of < 1 || d.Part < 1 || d.Part > d.Of:
		return fmt.Errorf("part %d of %d: want 1 ≤ n ≤ m", d.Part, d.Of)
	}
	return nil
}

// inPart reports whether pack id falls in part Part of Of: the first four
// bytes of an ID are uniformly random, so parts are of about equal size.
func (d DataSubset) inPart(id ID) bool {
	return int(binary.BigEndian.Uint32(id[:4])%uint32(d.Of)) == d.Part-1
}

// dataSelection returns the packs a check downloads whole, or nil for none.
func (r *Repository) dataSelection(opts CheckOptions) (map[ID]bool, error) {
	if err := opts.Subset.validate(); err != nil {
		return nil, fmt.Errorf("check: data subset: %w", err)
	}
	d := opts.Subset
	if !opts.ReadData && d == (DataSubset{}) {
		return nil, nil
	}
	ids := r.idx.PackIDs()
	chosen := make(map[ID]bool)
	switch {
	case opts.ReadData:
		for _, id := range ids {
			chosen[id] = true
		}
	case d.Of > 0:
		for _, id := range ids {
			if d.inPart(id) {
				chosen[id] = true
			}
		}
	default:
		// Rounded up, but 0.3 × 10 packs is 3, not the 4 that float
		// arithmetic makes of it.
		n := min(len(ids), int(math.Ceil(d.Fraction*float64(len(ids))-1e-9)))
		for _, i := range rand.Perm(len(ids))[:n] {
			chosen[ids[i]] = true
		}
	}
	return chosen, nil
}
