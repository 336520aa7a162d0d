//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// goImage returns the toolchain image GO_IMAGE of the Dockerfile's build
// stage: the host's GOROOT (the go command and its tools are static) at
// /usr/local/go of an otherwise empty image, with the CA certificates the
// final stage copies and a /tmp for the compiler, and the standard
// library compiled as the Dockerfile compiles (static, -trimpath) in its
// build cache: that is most of the agent's compile time. It works
// offline only with a vendored build context (GOPROXY=off).
func (e *dockerEnv) goImage() string {
	t := e.t
	env := goEnv(t, "GOROOT", "GOVERSION", "GOOS", "GOARCH")
	tag := fmt.Sprintf("%s:%s-%s-%s", goImageRepo, env[1], env[2], env[3])
	if e.imageExists(tag) {
		t.Logf("reusing image %s", tag)
		return tag
	}
	start := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeToolchainTar(pw, env[0])) }()
	res, err := e.cli.ImageImport(t.Context(), client.ImageImportSource{Source: pr, SourceName: "-"}, tag,
		client.ImageImportOptions{
			Message: "cairn agent test: Go toolchain from " + env[0],
			Changes: []string{
				"ENV PATH=/usr/local/go/bin HOME=/root GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0",
				"LABEL " + e2eLabel + "=go", // inherited by the images built on it: see removeBuildLeftovers
			},
		})
	if err == nil {
		_, err = readMessages(res)
		res.Close()
	}
	pr.CloseWithError(errors.New("import ended")) // unblocks the writer on failure
	require.NoError(t, err, "import %s", tag)
	// Built on the import under the same tag, which the import then
	// loses: one image, two layers.
	e.build(e.dockerfileContext(`FROM `+tag+`
RUN ["go", "build", "-trimpath", "std"]
`, nil), "Dockerfile", tag, nil)
	t.Logf("built image %s in %v (kept as a cache)", tag, time.Since(start).Round(time.Second))
	return tag
}

// writeToolchainTar writes the root file system of goImage.
func writeToolchainTar(w io.Writer, goroot string) error {
	tw := tar.NewWriter(w)
	for _, d := range []struct {
		name string
		mode int64
	}{{"tmp/", 0o1777}, {"root/", 0o700}, {"etc/", 0o755}, {"etc/ssl/", 0o755}, {"etc/ssl/certs/", 0o755}, {"usr/", 0o755}, {"usr/local/", 0o755}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return err
		}
	}
	// An empty bundle if the host has none: the test needs no TLS.
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := writeTarFile(tw, "etc/ssl/certs/ca-certificates.crt", 0o644, certs); err != nil {
		return err
	}
	if err := addTree(tw, goroot, "usr/local/go"); err != nil {
		return err
	}
	return tw.Close()
}

func writeTarFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// addTree adds the files under dir to tw, named prefix/..., in lexical
// order, owned by root, with a fixed time: the same tree gives the same
// bytes, which is what the agent image's cache tag is a hash of.
func addTree(tw *tar.Writer, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if d.Type()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
}

// agentImage builds examples/agent/Dockerfile with goImage as GO_IMAGE
// from a copy of the module (the files git knows of, tracked or not, and
// `go mod vendor`, so that the build needs no network), unless the image
// of the same context exists.
func (e *dockerEnv) agentImage(goImage string) string {
	t := e.t
	root := filepath.Dir(goEnv(t, "GOMOD")[0])
	dir := filepath.Join(t.TempDir(), "context")
	copyModule(t, root, dir)
	vendor := exec.CommandContext(t.Context(), "go", "mod", "vendor")
	vendor.Dir = dir
	vendor.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := vendor.CombinedOutput()
	require.NoError(t, err, "go mod vendor: %s", out)
	// A new image compiles the dependencies: about a minute.
	return e.cachedBuild(agentRepo, tarDir(t, dir), dockerfileRel, map[string]*string{"GO_IMAGE": &goImage})
}

// cachedBuild builds the image of a context, tagged repo:HASH, where
// HASH is of the context and the build arguments, unless it exists; a
// new image replaces the other tags of repo.
func (e *dockerEnv) cachedBuild(repo string, tarball *bytes.Buffer, dockerfile string, args map[string]*string) string {
	t := e.t
	defer e.removeBuildLeftovers()
	h := sha256.New()
	h.Write(tarball.Bytes())
	for _, k := range slices.Sorted(maps.Keys(args)) {
		fmt.Fprintf(h, "\x00%s=%s", k, *args[k])
	}
	tag := repo + ":" + hex.EncodeToString(h.Sum(nil)[:8])
	if e.imageExists(tag) {
		t.Logf("reusing image %s", tag)
		return tag
	}
	t.Logf("building %s from a %d KiB context", tag, tarball.Len()>>10)
	start := time.Now()
	e.build(tarball, dockerfile, tag, args)
	t.Logf("built image %s in %v (kept as a cache)", tag, time.Since(start).Round(time.Second))
	e.removeOtherTags(repo, tag)
	return tag
}

// copyModule copies the files of the module at root that git tracks or
// would track into dir, but tests, their data and documents: the image
// is the same without them, so an edit to those does not make a new one.
func copyModule(t *testing.T, root, dir string) {
	git := exec.CommandContext(t.Context(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	git.Dir = root
	out, err := git.Output()
	if err != nil {
		e2eUnavailable(t, fmt.Sprintf("git ls-files in %s: %v: the agent image is built from the files git knows", root, err))
	}
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, ".md") ||
			slices.Contains(strings.Split(name, "/"), "testdata") {
			continue
		}
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !info.Mode().IsRegular() {
			continue // deleted but not yet committed, or a link
		}
		require.NoError(t, err)
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		dst := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, data, info.Mode().Perm()|0o600))
	}
}

// stubImage builds testdata/stub into a FROM scratch image, kept like
// the agent image under a hash of its context.
func (e *dockerEnv) stubImage() string {
	t := e.t
	bin := filepath.Join(t.TempDir(), "stub")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", bin, "./testdata/stub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build testdata/stub: %s", out)
	return e.cachedBuild(stubRepo, e.dockerfileContext("FROM scratch\nCOPY stub /stub\nENTRYPOINT [\"/stub\"]\n", []string{bin}),
		"Dockerfile", nil)
}

// dockerfileContext returns a build context of dockerfile and files.
func (e *dockerEnv) dockerfileContext(dockerfile string, files []string) *bytes.Buffer {
	dir := e.t.TempDir()
	require.NoError(e.t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(e.t, err)
		require.NoError(e.t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o755))
	}
	return tarDir(e.t, dir)
}

func tarDir(t *testing.T, dir string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, addTree(tw, dir, "."))
	require.NoError(t, tw.Close())
	return &buf
}

// build runs the daemon's (classic) builder on the context tar.
func (e *dockerEnv) build(tarball io.Reader, dockerfile, tag string, args map[string]*string) {
	t := e.t
	res, err := e.cli.ImageBuild(t.Context(), tarball, client.ImageBuildOptions{
		Dockerfile: dockerfile, Tags: []string{tag}, BuildArgs: args,
		Remove: true, ForceRemove: true, Labels: map[string]string{e2eLabel: "true"},
	})
	require.NoError(t, err, "build %s", tag)
	defer res.Body.Close()
	log, err := readMessages(res.Body)
	require.NoError(t, err, "build %s; last output:\n%s", tag, log)
}

// readMessages reads a stream of the daemon's JSON messages to the end
// and returns the tail of its text, and the error it reports.
func readMessages(r io.Reader) (string, error) {
	var text []string
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Stream      string
			Error       string
			ErrorDetail *struct{ Message string }
		}
		switch err := dec.Decode(&m); {
		case errors.Is(err, io.EOF):
			return strings.Join(text, ""), nil
		case err != nil:
			return strings.Join(text, ""), fmt.Errorf("reading the daemon's messages: %w", err)
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return strings.Join(text, ""), errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return strings.Join(text, ""), errors.New(m.Error)
		}
		text = append(text, m.Stream)
		if len(text) > 40 {
			text = text[1:]
		}
	}
}

// removeBuildLeftovers removes the images the classic builder keeps of a
// multi-stage build's first stage (hundreds of MB: the toolchain, the
// source and the compiler's cache): the dangling images built on the
// toolchain image, which carry its label, and with each its untagged
// parents. Those of test runs killed during a build go too, and so
// would those of a build of this test running at the same time.
func (e *dockerEnv) removeBuildLeftovers() {
	f := client.Filters{}
	f.Add("dangling", "true")
	f.Add("label", e2eLabel)
	res, err := e.cli.ImageList(context.Background(), client.ImageListOptions{Filters: f})
	if err != nil {
		e.t.Logf("list build leftovers: %v", err)
		return
	}
	for _, im := range res.Items {
		e.removeImage(im.ID)
	}
}

// removeOtherTags removes the images of repository repo but keep.
func (e *dockerEnv) removeOtherTags(repo, keep string) {
	f := client.Filters{}
	f.Add("reference", repo)
	res, err := e.cli.ImageList(e.t.Context(), client.ImageListOptions{Filters: f})
	if err != nil {
		e.t.Logf("list images of %s: %v", repo, err)
		return
	}
	for _, im := range res.Items {
		for _, tag := range im.RepoTags {
			if tag != keep && strings.HasPrefix(tag, repo+":") {
				e.removeImage(tag)
			}
		}
	}
}

// removeImage removes an image and its untagged parents. It only logs
// a failure: an image in use (by a test running at the same time) stays.
func (e *dockerEnv) removeImage(ref string) {
	_, err := e.cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		e.t.Logf("remove image %s: %v", ref, err)
	}
}
