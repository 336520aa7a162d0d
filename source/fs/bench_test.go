package fs

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/source"
)

// BenchmarkWalk walks the Go source tree, metadata only, as a backup that
// finds nothing changed would.
func BenchmarkWalk(b *testing.B) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("go env GOROOT: %v", err)
	}
	s := Dir(strings.TrimSpace(string(out))+"/src", Options{})
	var files int
	for b.Loop() {
		files = 0
		err := s.Walk(context.Background(), func(e *source.Entry) error {
			if e.Err != nil {
				return e.Err
			}
			files++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(files), "files")
}
