package fs

import (
	"container/heap"
	"context"
	"sync"
)

// jobQueue holds the jobs no one has started, the one the walk will need
// first at the front. A job the consumer claimed for itself stays in the
// queue until a worker pops and drops it.
type jobQueue struct {
	mu   sync.Mutex
	jobs jobHeap
	wake chan struct{} // a token when jobs may be waiting
}

func newJobQueue() *jobQueue {
	return &jobQueue{wake: make(chan struct{}, 1)}
}

// push adds jobs and wakes a waiting worker.
func (q *jobQueue) push(js ...*job) {
	if len(js) == 0 {
		return
	}
	q.mu.Lock()
	for _, j := range js {
		heap.Push(&q.jobs, j)
	}
	q.mu.Unlock()
	q.signal()
}

// pop claims the first job no one has claimed, waiting for one to be
// pushed. It returns nil when ctx ends.
func (q *jobQueue) pop(ctx context.Context) *job {
	for {
		if j := q.tryPop(); j != nil {
			return j
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// tryPop claims the first unclaimed job, or returns nil. A push wakes one
// worker; one that finds more work passes the wake on.
func (q *jobQueue) tryPop() *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.jobs.Len() > 0 {
		j := heap.Pop(&q.jobs).(*job)
		if j.claim() {
			if q.jobs.Len() > 0 {
				q.signal()
			}
			return j
		}
	}
	return nil
}

func (q *jobQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// jobHeap orders jobs by key, which is their place in the walk.
type jobHeap []*job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return walkBefore(h[i].key, h[j].key) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*job)) }

func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// walkBefore reports whether the walk reaches relative path a before b:
// paths compare name by name, and a directory comes before what is in it.
// That is byte order with "/" below every other byte, which no name holds.
func walkBefore(a, b string) bool {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		switch {
		case x == y:
			continue
		case x == '/':
			return true
		case y == '/':
			return false
		}
		return x < y
	}
	return len(a) < len(b)
}
