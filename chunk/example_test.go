package chunk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/cairnbackup/cairn/chunk"
)

// A Splitter finds the same chunks as a Chunker, on several cores.
func ExampleSplitter() {
	const pol = 0x3DA3358B4DC173 // in a repository: from the master key
	p := chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	data := make([]byte, 4<<20)
	_, _ = rand.NewChaCha8([32]byte{}).Read(data)

	s, err := chunk.NewSplitter(pol, p, chunk.SplitOptions{Workers: 2, Segment: 1 << 20})
	if err != nil {
		panic(err)
	}
	var split []int
	n, err := s.Split(context.Background(), bytes.NewReader(data), int64(len(data)), func(off int64, n int) error {
		split = append(split, n) // data[off:off+n] is the chunk
		return nil
	})
	fmt.Println(n, err)

	c, _ := chunk.New(pol, p)
	c.Reset(bytes.NewReader(data))
	var seq []int
	for {
		b, err := c.Next(nil)
		if err == io.EOF {
			break
		}
		seq = append(seq, len(b))
	}
	fmt.Println(fmt.Sprint(split) == fmt.Sprint(seq), len(seq) > 100)
	// Output:
	// 4194304 <nil>
	// true true
}
