package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/tar"
)

// errAborted ends an upload the restore gave up on.
var errAborted = errors.New("restore aborted")

// HelperTarget restores into a volume through a helper container: created
// (never started) with the volume mounted read-write at /volume, it
// receives the snapshot as one tar stream through the container archive
// endpoint, extracted at the container's root with every path under
// "volume/", so the volume's own directory gets the root's metadata too.
// The daemon keeps modes, numeric ownership and times (to the
// nanosecond); it does not replace a directory by a non-directory or the
// reverse.
//
// The helper is created by the first Put and removed by Close, by a Put
// that fails and by the tidy function IntoVolume returns. Entries reach
// the daemon as they are put, so a failed restore leaves what was
// extracted so far. A HelperTarget is not safe for concurrent use.
type HelperTarget struct {
	cli   *client.Client
	vol   string
	image string

	container string             // the helper, while it exists
	tar       *tar.Target        // writes to pw
	pw        *io.PipeWriter     // the request body of the upload
	cancel    context.CancelFunc // cancels the upload
	done      chan struct{}      // closed when the upload has returned
	uploadErr error              // the upload's result, once done is closed
	err       error              // sticky: a failed or finished target
}

var _ source.Target = (*HelperTarget)(nil)

// Put sends e to the daemon, starting the helper and the upload on first
// use. After an error the helper is gone and every later call returns the
// error.
func (h *HelperTarget) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if h.err != nil {
		return h.err
	}
	if err := ctx.Err(); err != nil {
		return h.fail(ctx, err)
	}
	re, err := rebaseOut(e)
	if err != nil {
		return h.fail(ctx, err)
	}
	if h.tar == nil {
		if err := h.start(ctx); err != nil {
			return h.fail(ctx, err)
		}
	}
	pw := h.pw
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) }) // unblock a stuck write
	err = h.tar.Put(ctx, re, content)
	stop()
	if err != nil {
		return h.fail(ctx, err)
	}
	return nil
}

// Close writes the end of the stream, waits for the daemon to extract it
// and removes the helper.
func (h *HelperTarget) Close(ctx context.Context) error {
	if h.err != nil {
		return h.err
	}
	if h.tar == nil {
		h.err = fmt.Errorf("docker: volume %q: restore target closed", h.vol)
		return nil
	}
	if err := h.tar.Close(ctx); err != nil {
		return h.fail(ctx, err)
	}
	if err := h.finish(ctx, nil); err != nil {
		h.err = fmt.Errorf("docker: volume %q: restore: %w", h.vol, err)
		return h.err
	}
	h.err = fmt.Errorf("docker: volume %q: restore target closed", h.vol)
	return nil
}

// tidy aborts an unfinished upload and removes the helper if it is still
// there; after Close or a failed Put there is nothing left to do.
func (h *HelperTarget) tidy(ctx context.Context) error {
	if h.container == "" {
		return nil
	}
	if h.err == nil {
		h.err = fmt.Errorf("docker: volume %q: %w", h.vol, errAborted)
	}
	return h.finish(ctx, errAborted)
}

// fail makes err sticky and tidies up. When the daemon ended the upload,
// err already carries its reason: the pipe hands it to the writer.
func (h *HelperTarget) fail(ctx context.Context, err error) error {
	h.err = fmt.Errorf("docker: volume %q: restore: %w", h.vol, err)
	if ferr := h.finish(ctx, err); ferr != nil {
		h.err = fmt.Errorf("docker: volume %q: restore: %w", h.vol, errors.Join(err, ferr))
	}
	return h.err
}

// start makes the helper image if it is missing, creates the helper and
// starts the upload of what is written to h.pw. The upload has its own
// context: the restore may run its Put and Close calls under different
// ones.
func (h *HelperTarget) start(ctx context.Context) error {
	if err := ensureHelperImage(ctx, h.cli, h.image); err != nil {
		return err
	}
	id, err := createHelper(ctx, h.cli, h.image, h.vol, false)
	if err != nil {
		return err
	}
	h.container = id
	pr, pw := io.Pipe()
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.pw, h.cancel, h.done = pw, cancel, make(chan struct{})
	h.tar = tar.NewTarget(pw)
	go func() {
		defer close(h.done)
		_, err := h.cli.CopyToContainer(uctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
		if err != nil {
			h.uploadErr = fmt.Errorf("upload: %w", err)
		}
		pr.CloseWithError(h.uploadErr) // a write after the end of the upload fails
	}()
	return nil
}

// finish ends the upload (cleanly if cause is nil, else aborting it),
// waits for it and removes the helper. Removal gets a context of its own,
// so it happens after cancellation too.
func (h *HelperTarget) finish(ctx context.Context, cause error) error {
	var err error
	if h.pw != nil {
		if cause != nil {
			h.pw.CloseWithError(cause)
			h.cancel()
		} else {
			h.pw.Close()
		}
		select {
		case <-h.done:
		case <-ctx.Done():
			h.cancel()
			<-h.done
		}
		h.cancel()
		err, h.pw = h.uploadErr, nil
		if cause != nil {
			err = nil // the daemon only saw the stream break off
		}
	}
	if h.container != "" {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, removeHelper(rctx, h.cli, h.container))
		h.container = ""
	}
	return err
}

// rebaseOut puts e under "volume/", the helper's mount seen from the root.
func rebaseOut(e *source.Entry) (*source.Entry, error) {
	if err := source.ValidPath(e.Path); err != nil {
		return nil, err
	}
	top := strings.TrimPrefix(helperMount, "/")
	re := *e
	re.Path = top
	if e.Path != "." {
		re.Path = top + "/" + e.Path
	}
	if e.Hardlink != "" {
		if err := source.ValidPath(e.Hardlink); err != nil || e.Hardlink == "." {
			return nil, fmt.Errorf("hard link to %q: %w", e.Hardlink, source.ErrUnsafePath)
		}
		re.Hardlink = top + "/" + e.Hardlink
	}
	return &re, nil
}
