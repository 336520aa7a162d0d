package s3

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Config says where a repository lives in an S3-compatible store and how
// to reach it. Endpoint and Bucket are required; the zero value of every
// other field is a sensible default.
type Config struct {
	// Endpoint is the server's host and optional port, without scheme:
	// "s3.eu-central-1.amazonaws.com", "127.0.0.1:7070".
	Endpoint string
	// HTTP talks plain HTTP instead of HTTPS (local test servers).
	HTTP bool
	// Bucket holds the repository, under Prefix ("" is the bucket's root;
	// no leading or trailing slash).
	Bucket string
	Prefix string
	// Region is the bucket's region; empty lets the client find it out.
	Region string
	// PathStyle addresses the bucket in the path (http://host/bucket/key)
	// rather than the host name (http://bucket.host/key). Without it the
	// client chooses: virtual-host style for AWS, path style otherwise.
	PathStyle bool

	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// credentials) authenticate; when empty, the AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN environment variables
	// are used, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE
	// or ~/.aws/credentials) with Profile (AWS_PROFILE, or "default").
	AccessKeyID, SecretAccessKey, SessionToken string
	Profile                                    string

	// CreateBucket makes the bucket if it does not exist.
	CreateBucket bool
	// StorageClass is set on every object stored ("STANDARD",
	// "STANDARD_IA", …); empty is the bucket's default. Classes that need
	// a restore before reading (GLACIER, DEEP_ARCHIVE) do not work.
	StorageClass string
	// PartSize is the part size of multipart uploads, which objects
	// larger than it use (DefaultPartSize; at least 5 MiB).
	PartSize uint64
	// Transport replaces the HTTP transport (proxies, custom TLS roots).
	Transport http.RoundTripper
}

// DefaultPartSize is the multipart part size unless Config.PartSize is set:
// packs of the default size (16 MiB) go in one request.
const DefaultPartSize = 64 << 20

// minPartSize is S3's smallest part.
const minPartSize = 5 << 20

// ParseURL reads a repository address of the form
// s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3:http://… for plain HTTP.
// The bucket is given in the path, so the address is path style.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "s3:")
	if !ok {
		return Config{}, fmt.Errorf("s3: address %q does not start with s3:", s)
	}
	u, err := url.Parse(rest)
	if err != nil {
		return Config{}, fmt.Errorf("s3: address %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Config{}, fmt.Errorf("s3: address %q: want s3:https://HOST/BUCKET[/PREFIX] or s3:http://…", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("s3: address %q: want s3:https://HOST/BUCKET[/PREFIX], without user, query or fragment", s)
	}
	bucket, prefix, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if bucket == "" {
		return Config{}, fmt.Errorf("s3: address %q names no bucket", s)
	}
	return Config{Endpoint: u.Host, HTTP: u.Scheme == "http", Bucket: bucket, Prefix: strings.Trim(prefix, "/"), PathStyle: true}, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	switch {
	case c.Endpoint == "":
		return c, errors.New("s3: no endpoint")
	case strings.Contains(c.Endpoint, "://"):
		return c, fmt.Errorf("s3: endpoint %q: give the host without scheme (Config.HTTP chooses plain HTTP)", c.Endpoint)
	case c.Bucket == "":
		return c, errors.New("s3: no bucket")
	case c.PartSize < minPartSize:
		return c, fmt.Errorf("s3: part size %d is below S3's minimum of 5 MiB", c.PartSize)
	case strings.Contains(c.Prefix, "//"):
		return c, fmt.Errorf("s3: prefix %q has an empty path element", c.Prefix)
	}
	return c, nil
}
