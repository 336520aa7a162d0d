// Package tests3 starts a real S3-compatible server for tests: VersityGW
// (github.com/versity/versitygw) serving a temporary directory through its
// posix backend on 127.0.0.1. It is installed outside the module:
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// Without the program, Start skips the test, or fails it when
// CAIRN_REQUIRE_INTEGRATION=1 (as in CI, which installs it).
package tests3

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// Credentials of the server's root user.
const (
	AccessKey = "cairn-test-access"
	SecretKey = "cairn-test-secret-key"
)

// Server is a running VersityGW.
type Server struct {
	// Addr is host:port.
	Addr string
	// Dir is the directory it serves; each bucket is a folder in it.
	Dir string

	t   testing.TB
	bin string
	cmd *exec.Cmd
}

// Start starts a server on a free port and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := program()
	if bin == "" {
		msg := "tests3: versitygw not found in PATH or $(go env GOPATH)/bin; " +
			"go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
		if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + " (CAIRN_REQUIRE_INTEGRATION=1)")
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, Dir: t.TempDir()}
	s.Addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Config returns a configuration for bucket on this server (made if
// missing).
func (s *Server) Config(bucket, prefix string) s3.Config {
	return s3.Config{Endpoint: s.Addr, HTTP: true, Bucket: bucket, Prefix: prefix, PathStyle: true,
		AccessKeyID: AccessKey, SecretAccessKey: SecretKey, CreateBucket: true, Region: "us-east-1"}
}

// URL returns the repository address of bucket and prefix, for the CLI.
func (s *Server) URL(bucket, prefix string) string {
	u := "s3:http://" + s.Addr + "/" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u
}

// Env returns the environment variables that give the CLI the
// credentials.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey}
}

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.Addr, "--quiet", "posix", s.Dir)
	log, err := os.OpenFile(s.Dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("tests3: %v", err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("tests3: start versitygw: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			out, _ := os.ReadFile(s.Dir + ".log")
			s.t.Fatalf("tests3: versitygw did not listen on %s: %v\n%s", s.Addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server, as a crash would; its data stays.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same address and directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Running reports whether the server process is up.
func (s *Server) Running() bool { return s.cmd != nil }

func program() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	out, err := exec.CommandContext(context.Background(), "go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, dir := range filepath.SplitList(string(trimNewline(out))) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// freePort asks the kernel for a port that is free now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tests3: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String describes the server.
func (s *Server) String() string { return fmt.Sprintf("versitygw at %s serving %s", s.Addr, s.Dir) }
