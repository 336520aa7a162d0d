package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Backend stores a repository's objects in a bucket.
type Backend struct {
	cfg    Config
	client *minio.Client
	core   minio.Core
}

var _ backend.Backend = (*Backend)(nil)

// Open connects to the store, checks that the bucket exists (or makes it,
// with Config.CreateBucket) and returns the backend. Credentials that are
// refused fail here, with an error that says so.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: cfg.credentials(), Secure: !cfg.HTTP, Region: cfg.Region,
		BucketLookup: lookup, Transport: cfg.Transport,
		// One attempt per call: retrying is package retry's job, with
		// its own backoff and reporting.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %s: %w", cfg.Endpoint, err)
	}
	b := &Backend{cfg: cfg, client: client, core: minio.Core{Client: client}}
	if err := b.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// credentials are the static ones of cfg, or else those of the
// environment, or else the shared credentials file.
func (c Config) credentials() *credentials.Credentials {
	if c.AccessKeyID != "" || c.SecretAccessKey != "" {
		return credentials.NewStaticV4(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Profile: c.Profile},
	})
}

func (b *Backend) ensureBucket(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.cfg.Bucket)
	if err != nil {
		return b.wrap("bucket", nil, err)
	}
	if ok {
		return nil
	}
	if !b.cfg.CreateBucket {
		return fmt.Errorf("s3: bucket %q at %s does not exist (or these credentials cannot see it): %w",
			b.cfg.Bucket, b.cfg.Endpoint, backend.ErrNotFound)
	}
	err = b.client.MakeBucket(ctx, b.cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region})
	if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		return b.wrap("create bucket", nil, err)
	}
	return nil
}

// String names the bucket and prefix.
func (b *Backend) String() string {
	scheme := "https"
	if b.cfg.HTTP {
		scheme = "http"
	}
	return fmt.Sprintf("s3:%s://%s/%s", scheme, b.cfg.Endpoint, path.Join(b.cfg.Bucket, b.cfg.Prefix))
}

// key is where the object of h lives in the bucket: the repository layout
// of FORMAT.md §1 under the prefix.
func (b *Backend) key(h backend.Handle) string {
	var p string
	switch h.Type {
	case backend.ConfigFile:
		p = "config"
	case backend.PackFile:
		p = "data/" + h.Name[:2] + "/" + h.Name
	default:
		p = h.Type.String() + "/" + h.Name
	}
	if b.cfg.Prefix == "" {
		return p
	}
	return b.cfg.Prefix + "/" + p
}

// Save stores the object, failing with ErrExists if it is there already.
// The check and the upload are two requests; the upload also asks the
// server to refuse an existing object (If-None-Match), which stores that
// support it honour.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if _, err := b.Stat(ctx, h); err == nil {
		return fmt.Errorf("s3: save %v: %w", h, backend.ErrExists)
	} else if !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	// The whole object is in memory before the upload starts, so that a
	// failing reader, or a context cancelled while it is read, stops the
	// save before anything reaches the store.
	data, err := readExactly(rd)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("s3: save %v: %w", h, err)
	}
	opts := minio.PutObjectOptions{
		StorageClass: b.cfg.StorageClass, PartSize: b.cfg.PartSize,
		ContentType: "application/octet-stream",
	}
	opts.SetMatchETagExcept("*")
	_, err = b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return b.wrap("save", &h, err)
	}
	return nil
}

// readExactly returns the Length bytes rd yields, or an error if it yields
// fewer or more.
func readExactly(rd backend.RewindReader) ([]byte, error) {
	if br, ok := rd.(*backend.ByteReader); ok {
		return br.Bytes(), nil
	}
	n := rd.Length()
	if n < 0 || n > maxObjectSize {
		return nil, fmt.Errorf("object of %d bytes out of range", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(rd, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reader yielded fewer than %d bytes: %w", n, err)
		}
		return nil, err
	}
	var one [1]byte
	if m, err := rd.Read(one[:]); m > 0 {
		return nil, fmt.Errorf("reader yielded more than %d bytes", n)
	} else if err != nil && err != io.EOF {
		return nil, err
	}
	return data, nil
}

// maxObjectSize bounds what Save holds in memory: far above any pack.
const maxObjectSize = 4 << 30

// Load reads length bytes from offset (0: to the end) with one ranged GET.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return fmt.Errorf("s3: load %v: negative length %d or offset %d", h, length, offset)
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		_ = opts.SetRange(offset, offset+int64(length)-1) // valid: checked above
	case offset > 0:
		_ = opts.SetRange(offset, 0)
	}
	body, info, _, err := b.core.GetObject(ctx, b.cfg.Bucket, b.key(h), opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			if err := b.invalidRange(ctx, h, length, offset); err != nil {
				return err
			}
			return fn(strings.NewReader(""))
		}
		return b.wrap("load", &h, err)
	}
	defer body.Close()
	want := int64(length)
	if length == 0 {
		want = info.Size
	}
	rd := &exactReader{r: body, left: want, h: h}
	if err := fn(rd); err != nil {
		return err
	}
	return nil
}

// invalidRange answers a range the server refused: reading at the very end
// of an object is an empty read (nil), anything else is past the end.
func (b *Backend) invalidRange(ctx context.Context, h backend.Handle, length int, offset int64) error {
	fi, err := b.Stat(ctx, h)
	if err != nil {
		return err
	}
	if length == 0 && offset == fi.Size {
		return nil
	}
	return fmt.Errorf("s3: load %v: %d bytes at %d of %d: %w", h, length, offset, fi.Size, io.ErrUnexpectedEOF)
}

// exactReader yields exactly left bytes, or fails with
// io.ErrUnexpectedEOF if the body ends first.
type exactReader struct {
	r    io.Reader
	left int64
	h    backend.Handle
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("s3: load %v: %d bytes short: %w", e.h, e.left, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, err
	}
	info, err := b.client.StatObject(ctx, b.cfg.Bucket, b.key(h), minio.StatObjectOptions{})
	if err != nil {
		return backend.FileInfo{}, b.wrap("stat", &h, err)
	}
	return backend.FileInfo{Name: h.Name, Size: info.Size}, nil
}

// List calls fn for every object of type t.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
		switch {
		case errors.Is(err, backend.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		return fn(fi)
	}
	if t < backend.ConfigFile || t > backend.LockFile {
		return fmt.Errorf("s3: list: unknown type %v", t)
	}
	dir := t.String() + "/"
	if b.cfg.Prefix != "" {
		dir = b.cfg.Prefix + "/" + dir
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for obj := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if obj.Err != nil {
			return b.wrap("list "+t.String(), nil, obj.Err)
		}
		rel := strings.TrimPrefix(obj.Key, dir)
		name := path.Base(rel)
		if t == backend.PackFile && rel != name[:min(2, len(name))]+"/"+name {
			continue // not in its fan-out folder: not an object of ours
		}
		if t != backend.PackFile && strings.Contains(rel, "/") {
			continue
		}
		if err := fn(backend.FileInfo{Name: name, Size: obj.Size}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Remove deletes the object; a missing one is ErrNotFound.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if _, err := b.Stat(ctx, h); err != nil {
		return err
	}
	if err := b.client.RemoveObject(ctx, b.cfg.Bucket, b.key(h), minio.RemoveObjectOptions{}); err != nil {
		return b.wrap("remove", &h, err)
	}
	return nil
}

// wrap turns a client error into one that names the object and wraps
// backend.ErrNotFound, backend.ErrExists or the context's error where
// those are the meaning.
func (b *Backend) wrap(op string, h *backend.Handle, err error) error {
	what := b.String()
	if h != nil {
		what = h.String()
	}
	if ctxErr := contextError(err); ctxErr != nil {
		return fmt.Errorf("s3: %s %s: %w", op, what, ctxErr)
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket":
		return fmt.Errorf("s3: %s %s: %w", op, what, backend.ErrNotFound)
	case resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("s3: %s %s: %w", op, what, backend.ErrExists)
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized ||
		resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.Code == "AccessDenied":
		return fmt.Errorf("s3: %s %s: access refused (check the credentials): %w", op, what, backend.Permanent(err))
	}
	return fmt.Errorf("s3: %s %s: %w", op, what, err)
}

func contextError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}
