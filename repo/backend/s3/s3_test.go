package s3_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/internal/tests3"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

func TestConformance(t *testing.T) {
	srv := tests3.Start(t)
	var n atomic.Int64
	for _, prefix := range []string{"", "some/prefix"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend {
				// A bucket of its own for each subtest: the suite wants an
				// empty backend.
				cfg := srv.Config(fmt.Sprintf("conformance-%d", n.Add(1)), prefix)
				cfg.PartSize = 5 << 20 // the suite's large object goes in parts
				be, err := s3.Open(t.Context(), cfg)
				require.NoError(t, err)
				return be
			})
		})
	}
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want s3.Config
	}{
		{"s3:https://s3.example.com/bucket", s3.Config{Endpoint: "s3.example.com", Bucket: "bucket", PathStyle: true}},
		{"s3:http://127.0.0.1:7070/b/some/prefix/", s3.Config{Endpoint: "127.0.0.1:7070", HTTP: true, Bucket: "b", Prefix: "some/prefix", PathStyle: true}},
	} {
		got, err := s3.ParseURL(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"https://h/b", "s3:ftp://h/b", "s3:https://h", "s3:https://h/", "s3:https://u:p@h/b", "s3:https://h/b?x=1", "s3:h/b"} {
		_, err := s3.ParseURL(bad)
		require.Error(t, err, bad)
	}
}

func TestOpenErrors(t *testing.T) {
	srv := tests3.Start(t)
	cfg := srv.Config("missing-bucket", "")
	cfg.CreateBucket = false
	_, err := s3.Open(t.Context(), cfg)
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.Contains(t, err.Error(), `bucket "missing-bucket"`)

	cfg = srv.Config("bucket", "")
	cfg.SecretAccessKey = "wrong"
	_, err = s3.Open(t.Context(), cfg)
	require.Error(t, err)
	require.Contains(t, err.Error(), "access refused")
	require.True(t, backend.IsPermanent(err), "no retry can cure refused credentials")

	_, err = s3.Open(t.Context(), s3.Config{Endpoint: "http://x", Bucket: "b"})
	require.ErrorContains(t, err, "without scheme")
	_, err = s3.Open(t.Context(), s3.Config{Endpoint: "x", Bucket: "b", PartSize: 1 << 20})
	require.ErrorContains(t, err, "5 MiB")
}

// TestCredentialSources: without keys in the Config, the environment and
// then the shared credentials file (with a profile) are used.
func TestCredentialSources(t *testing.T) {
	srv := tests3.Start(t)
	base := srv.Config("creds", "")
	base.AccessKeyID, base.SecretAccessKey = "", ""
	base.StorageClass = "STANDARD"

	t.Setenv("AWS_ACCESS_KEY_ID", tests3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", tests3.SecretKey)
	be, err := s3.Open(t.Context(), base)
	require.NoError(t, err, "from the environment")
	h := backend.Handle{Type: backend.SnapshotFile, Name: "ab12"}
	require.NoError(t, be.Save(t.Context(), h, backend.NewByteReader([]byte("with a storage class"))))

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	file := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(file, []byte("[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n"+
		"[backup]\naws_access_key_id = "+tests3.AccessKey+"\naws_secret_access_key = "+tests3.SecretKey+"\n"), 0o600))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	cfg := base
	cfg.Profile = "backup"
	be, err = s3.Open(t.Context(), cfg)
	require.NoError(t, err, "from the shared file's profile")
	fi, err := be.Stat(t.Context(), h)
	require.NoError(t, err)
	require.EqualValues(t, len("with a storage class"), fi.Size)
}
