package docker

import (
	"context"
	"errors"

	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
)

// Consistent wraps src so that its Prepare also quiesces containers (see
// Quiesce) and its tidy-up resumes them: repo.Repository.Backup then
// stops or pauses them for exactly the walk, and starts them again on
// every way out.
//
// containers names them when the source is prepared, after src's own
// Prepare; if nil, the containers that use src's volume
// (*DirectVolume, *HelperVolume or anything with Volume() VolumeInfo).
//
// The result is a source.Preparer, and a source.Sequential or
// source.Counter exactly when src is. To quiesce once for several
// volumes, use QuiesceVolumes around their backups instead.
func Consistent(src source.Source, cli *client.Client, c Consistency, containers func() []string) source.Source {
	s := &consistent{src: src, cli: cli, c: c, containers: containers}
	_, seq := src.(source.Sequential)
	cnt, isCounter := src.(source.Counter)
	switch {
	case seq && isCounter:
		return &consistentSeqCounter{consistentSeq{s}, cnt}
	case seq:
		return &consistentSeq{s}
	case isCounter:
		return &consistentCounter{s, cnt}
	}
	return s
}

// consistent is a source quiesced around its walk.
type consistent struct {
	src        source.Source
	cli        *client.Client
	c          Consistency
	containers func() []string
	prepared   bool
}

var (
	_ source.Preparer   = (*consistent)(nil)
	_ source.Sequential = (*consistentSeq)(nil)
	_ source.Counter    = (*consistentCounter)(nil)
	_ source.Sequential = (*consistentSeqCounter)(nil)
	_ source.Counter    = (*consistentSeqCounter)(nil)
)

type (
	consistentSeq     struct{ *consistent }
	consistentCounter struct {
		*consistent
		source.Counter
	}
	consistentSeqCounter struct {
		consistentSeq
		source.Counter
	}
)

func (consistentSeq) Sequential() {}

// Unwrap returns the wrapped source.
func (s *consistent) Unwrap() source.Source { return s.src }

func (s *consistent) Info() source.Info { return s.src.Info() }

// Prepare prepares the wrapped source, then quiesces the containers.
// tidy resumes them first, then tidies the wrapped source.
func (s *consistent) Prepare(ctx context.Context) (tidy func(context.Context) error, err error) {
	tidySrc := func(context.Context) error { return nil }
	if p, ok := s.src.(source.Preparer); ok {
		t, err := p.Prepare(ctx)
		if err != nil {
			return nil, err
		}
		tidySrc = t
	}
	ok := false
	defer func() { // on errors and panics
		if !ok {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
			defer cancel()
			err = errors.Join(err, tidySrc(uctx))
		}
	}()
	resume, err := Quiesce(ctx, s.cli, s.list(), s.c)
	if err != nil {
		return nil, err
	}
	ok, s.prepared = true, true
	return func(ctx context.Context) error {
		s.prepared = false
		err := resume(ctx)
		return errors.Join(err, tidySrc(ctx))
	}, nil
}

// list names the containers to quiesce.
func (s *consistent) list() []string {
	if s.containers != nil {
		return s.containers()
	}
	v, ok := s.src.(interface{ Volume() VolumeInfo })
	if !ok {
		return nil
	}
	var ids []string
	for _, c := range v.Volume().Containers {
		ids = append(ids, c.ID)
	}
	return ids
}

// Walk walks the wrapped source. Without Prepare it prepares and tidies
// up itself.
func (s *consistent) Walk(ctx context.Context, fn func(*source.Entry) error) (err error) {
	if !s.prepared {
		tidy, err := s.Prepare(ctx)
		if err != nil {
			return err
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
			defer cancel()
			err = errors.Join(err, tidy(tctx))
		}()
	}
	return s.src.Walk(ctx, fn)
}
