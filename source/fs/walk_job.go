package fs

import (
	"strings"
	"sync/atomic"

	"github.com/cairnbackup/cairn/source"
)

// job reads part of one directory: the first job of a directory lists it
// and reads its first batch of entries, each later job the next batch.
// Whoever claims a job runs it, a worker or the consumer; the consumer takes
// its results once done is closed.
type job struct {
	rel, abs string // the directory
	from     int    // index in names of the batch's first entry
	key      string // the job's place in the walk (walkBefore)
	claimed  atomic.Bool
	token    bool // a worker runs it and holds a read-ahead token for it
	done     chan struct{}

	// Set by the run, before done is closed.
	names []string // the directory's, sorted; shared by its jobs
	more  []*job   // the directory's later jobs, on its first job
	out   []result // the batch's entries, in name order
	err   error    // the directory could not be listed
}

// result is one name of a batch: its entry, nil if the name is excluded,
// and the first job of the directory it is, if the walk goes into it.
type result struct {
	e   *source.Entry
	dir *job
}

// newDirJob returns the first job of the directory rel, at abs.
func newDirJob(rel, abs string) *job {
	key := rel
	if rel == "." {
		key = "" // the root comes before everything
	}
	return &job{rel: rel, abs: abs, key: key, done: make(chan struct{})}
}

// claim reports whether the caller is the one to run j.
func (j *job) claim() bool { return j.claimed.CompareAndSwap(false, true) }

// run reads j's batch with w and hands the jobs it finds to push: the
// directory's later batches and the subdirectories to walk.
func (j *job) run(w *walker, batch int, push func(...*job)) {
	defer close(j.done)
	if j.from == 0 {
		names, err := readNames(j.abs)
		if err != nil {
			j.err = err
			return
		}
		j.names = names
		j.more = j.later(batch)
		push(j.more...)
	}
	dir := strings.TrimSuffix(j.abs, "/") // the root may be "/"
	names := j.names[j.from:min(j.from+batch, len(j.names))]
	j.out = make([]result, len(names))
	var dirs []*job
	for i, name := range names {
		e, d := w.child(childRel(j.rel, name), dir+"/"+name)
		j.out[i] = result{e: e, dir: d}
		if d != nil {
			dirs = append(dirs, d)
		}
	}
	push(dirs...)
}

// later returns the jobs for the batches of j's directory after the first.
func (j *job) later(batch int) []*job {
	var more []*job
	for from := batch; from < len(j.names); from += batch {
		more = append(more, &job{
			rel: j.rel, abs: j.abs, from: from, names: j.names,
			key:  childRel(j.rel, j.names[from]),
			done: make(chan struct{}),
		})
	}
	return more
}

// childRel is the path of name in the directory rel.
func childRel(rel, name string) string {
	if rel == "." {
		return name
	}
	return rel + "/" + name
}
