package crypto

import (
	"fmt"
	"testing"
)

func BenchmarkBlobID(b *testing.B) {
	k := newTestKey(b)
	for _, size := range []int{4 << 10, 1 << 20} {
		data := make([]byte, size)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				k.BlobID(data)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	k := newTestKey(b)
	for _, size := range []int{4 << 10, 1 << 20} {
		data := make([]byte, size)
		dst := make([]byte, 0, size+Overhead)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = k.Seal(dst[:0], data, []byte("ad"))
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKey(b)
	data := make([]byte, 1<<20)
	sealed := k.Seal(nil, data, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		data, err = k.Open(data[:0], sealed, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyFileOpenDefault(b *testing.B) {
	f, err := NewKeyFile(newTestKey(b), "pw", DefaultKDFParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.Open("pw"); err != nil {
			b.Fatal(err)
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
