package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peak measures the memory high-water marks of an operation.
type peak struct {
	heap atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// startPeak resets the RSS high-water mark and starts sampling the heap.
func startPeak() *peak {
	runtime.GC() // twice: pooled buffers survive one collection
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM; best effort
	p := &peak{stop: make(chan struct{})}
	p.wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > p.heap.Load() {
				p.heap.Store(v)
			}
			select {
			case <-t.C:
			case <-p.stop:
				return
			}
		}
	})
	return p
}

// report stops sampling and reports the peaks, keeping the largest seen
// over the benchmark's iterations.
func (p *peak) report(b *testing.B, worst *[2]float64) {
	close(p.stop)
	p.wg.Wait()
	worst[0] = max(worst[0], float64(p.heap.Load())/1e6)
	worst[1] = max(worst[1], float64(vmHWM())/1e6)
	b.ReportMetric(worst[0], "peak-heap-MB")
	b.ReportMetric(worst[1], "peak-rss-MB")
}

// vmHWM returns the process's peak resident set size in bytes, or 0.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
