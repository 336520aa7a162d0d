package main

import (
	"errors"
	"flag"
	"math"
	"strconv"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/limit"
)

// limits are the global --limit-* flags, which cap what the backend the CLI
// opens may do.
type limits struct {
	upload, download kibRate
	connections      limitValue
}

func (l *limits) flags(fs *flag.FlagSet) {
	fs.Var(&l.upload, "limit-upload", "upload to the repository at most `KiB` per second (0: no limit)")
	fs.Var(&l.download, "limit-download", "download from the repository at most `KiB` per second (0: no limit)")
	fs.Var(&l.connections, "limit-connections", "at most `N` repository operations at once (0: no limit)")
}

// limitBackend wraps be in the limits of the --limit-* flags, if any.
func (a *app) limitBackend(be backend.Backend) backend.Backend {
	opts := limit.Options{
		Upload:      a.limits.upload.bytes(),
		Download:    a.limits.download.bytes(),
		Connections: int(a.limits.connections),
	}
	if opts == (limit.Options{}) {
		return be
	}
	return limit.New(be, opts)
}

// limitValue is a flag for a limit: a whole number, 0 for no limit.
type limitValue int64

func (v *limitValue) String() string { return strconv.FormatInt(int64(*v), 10) }

func (v *limitValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return errors.New("not a whole number")
	case n < 0:
		return errors.New("must not be negative; 0 means no limit")
	case n > math.MaxInt32:
		return errors.New("too large")
	}
	*v = limitValue(n)
	return nil
}

// kibRate is a limit in KiB per second.
type kibRate struct{ limitValue }

func (k kibRate) bytes() int64 { return int64(k.limitValue) << 10 }
