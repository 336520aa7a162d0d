package testpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds initdb, the server's start and its stop.
	startTimeout = 2 * time.Minute
	dirPrefix    = "cairn-pg-"
	// ownerFile in a server's directory holds the PID of the process that
	// started it, so a later Run can stop servers whose process died
	// without stopping them (a test timeout panics past the cleanups).
	ownerFile = "owner.pid"
)

// Server is a running PostgreSQL server, reachable only through the unix
// socket Dir/.s.PGSQL.<Port>.
type Server struct {
	Dir  string // socket directory; the data directory and log are inside
	Port int
	Bin  string // directory of the server and client programs

	cred *syscall.Credential // the postgres OS user, when running as root
}

// ErrUnavailable is wrapped by the errors of Run when PostgreSQL's
// programs, or the OS user to run them as, are missing.
var ErrUnavailable = errors.New("PostgreSQL unavailable")

// Start makes, starts and waits for a new server, and registers a cleanup
// that stops it and removes its directory. It skips t if PostgreSQL is not
// installed, or fails it if CAIRN_REQUIRE_INTEGRATION=1.
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := Run("", t.Logf)
	if errors.Is(err, ErrUnavailable) {
		unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Run makes, starts and waits for a new server in a new directory under
// parent ("" for the temporary directory), for programs that are not tests.
// parent must be short: the socket's path has to stay under about 100 bytes.
// stop shuts the server down and removes its directory. logf, if not nil,
// hears of servers of dead processes that Run stopped. If PostgreSQL is not
// installed the error wraps ErrUnavailable. A server that fails to start is
// stopped and its directory removed; the error holds the server's log.
func Run(parent string, logf func(format string, args ...any)) (s *Server, stop func() error, err error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := findBin()
	if err != nil {
		return nil, nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, nil, err
	}
	if parent == "" {
		parent = socketParent()
	}
	reapOrphans(parent, bin, cred, logf)
	// Not t.TempDir: its parents are private to the current user, who may
	// not be the server's.
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return nil, nil, err
	}
	s = &Server{Dir: dir, Port: 20000 + rand.IntN(40000), Bin: bin, cred: cred}
	if err := s.start(); err != nil {
		if serr := s.stop(); serr != nil {
			err = fmt.Errorf("%w\n%w", err, serr)
		}
		return nil, nil, err
	}
	return s, s.stop, nil
}

// start initialises the data directory in s.Dir and starts the server.
func (s *Server) start() error {
	if err := os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if s.cred != nil {
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := s.server(ctx, "initdb", "-D", s.data(), "-U", "postgres", "--auth=trust",
		"--no-locale", "--encoding=UTF8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("testpg: initdb: %v\n%s", err, out)
	}
	if err := s.configure(); err != nil {
		return err
	}
	if out, err := s.server(ctx, "pg_ctl", "start", "-D", s.data(), "-l", s.log(),
		"-w", "-t", "60").CombinedOutput(); err != nil {
		return fmt.Errorf("testpg: pg_ctl start: %v\n%s\nserver log:\n%s", err, out, s.readLog())
	}
	if err := s.waitReady(ctx); err != nil {
		return fmt.Errorf("testpg: %v\nserver log:\n%s", err, s.readLog())
	}
	return nil
}

// Env is the environment that points client programs at the server.
// PGDATABASE is not set: name the database on the command line.
func (s *Server) Env() []string {
	return []string{"PGHOST=" + s.Dir, "PGPORT=" + strconv.Itoa(s.Port), "PGUSER=postgres"}
}

// Program returns the path of a program of the server's version (pg_dump,
// psql…), or name itself if Bin has no such program.
func (s *Server) Program(name string) string {
	if !strings.Contains(name, "/") {
		if p := filepath.Join(s.Bin, name); isExecutable(p) {
			return p
		}
	}
	return name
}

// Cmd prepares a client program (psql, pg_dump, pgbench, createdb…) of the
// server's version to run against the server, as the current user.
func (s *Server) Cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Program(name), args...)
	cmd.Env = append(cleanEnv(), s.Env()...)
	return cmd
}

// Exec runs sql in database db with psql, stopping at the first error,
// and returns the output without the final newline: unaligned, tuples only,
// "|" between columns. It fails t on any error.
func (s *Server) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	cmd := s.Cmd(t.Context(), "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(sql), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testpg: psql %s: %v\n%s\nSQL: %s", db, err, stderr.Bytes(), sql)
	}
	return strings.TrimSuffix(stdout.String(), "\n")
}

func (s *Server) data() string { return filepath.Join(s.Dir, "data") }
func (s *Server) log() string  { return filepath.Join(s.Dir, "server.log") }

func (s *Server) readLog() string {
	b, _ := os.ReadFile(s.log())
	return string(b)
}

// server prepares a server program, run as the postgres OS user if we are
// root, in the server's directory (its own working directory may be closed
// to that user).
func (s *Server) server(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = append(cleanEnv(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// configure appends the socket-only, no-durability settings to
// postgresql.conf, where later lines win.
func (s *Server) configure() error {
	conf := fmt.Sprintf(`
# testpg
listen_addresses = ''
unix_socket_directories = '%s'
port = %d
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
`, s.Dir, s.Port)
	f, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitReady polls pg_isready until the server accepts connections.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		out, err := s.Cmd(ctx, "pg_isready", "-d", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pg_isready: %v: %s", err, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop shuts the server down without a checkpoint and removes its
// directory; if the server does not stop, the directory stays, with the log.
func (s *Server) stop() error {
	if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		if out, err := s.server(ctx, "pg_ctl", "stop", "-D", s.data(), "-m", "immediate", "-w").CombinedOutput(); err != nil {
			return fmt.Errorf("testpg: pg_ctl stop: %v\n%s", err, out)
		}
	}
	return os.RemoveAll(s.Dir)
}

// reapOrphans stops and removes the servers under parent of processes that
// are gone. Servers of running processes (tests of other packages, run in
// parallel) stay.
func reapOrphans(parent, bin string, cred *syscall.Credential, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // starting, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		err = (&Server{Dir: dir, Bin: bin, cred: cred}).stop()
		logf("testpg: stopped the server in %s left by process %d: %v", dir, pid, err)
	}
}

// findBin returns the bin directory of the newest PostgreSQL under
// /usr/lib/postgresql, or else the directory of initdb on PATH.
func findBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		slices.SortFunc(matches, func(a, b string) int {
			return compareVersions(filepath.Base(filepath.Dir(filepath.Dir(a))), filepath.Base(filepath.Dir(filepath.Dir(b))))
		})
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w: server programs not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH)", ErrUnavailable)
}

// compareVersions orders dotted numbers: "9.6" < "15" < "16.1".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// serverUser returns the credentials of the postgres OS user if we are
// root, or nil: then the server runs as the current user.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: running as root and no postgres OS user to run the server as: %w", ErrUnavailable, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// socketParent is where the server's directory goes: the temporary
// directory, unless its path is too long for a unix socket inside.
func socketParent() string {
	if d := os.TempDir(); len(d) <= 60 {
		return d
	}
	return "/tmp"
}

// cleanEnv is the current environment without PG* variables, which would
// point programs elsewhere (PGDATA, PGDATABASE, PGSERVICE…).
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("testpg: %v (CAIRN_REQUIRE_INTEGRATION=1; apt-get install postgresql)", err)
	}
	t.Skipf("testpg: %v; apt-get install postgresql to run this test", err)
}
