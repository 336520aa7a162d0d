package testmysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	// startTimeout bounds mariadb-install-db, the server's start and its
	// shutdown.
	startTimeout = 2 * time.Minute
	dirPrefix    = "cairn-mysql-"
	// ownerFile in a server's directory holds the PID of the test process
	// that started it, so a later Start can kill servers whose test died
	// without its cleanups (a test timeout panics past them).
	ownerFile = "owner.pid"
	pidFile   = "mariadbd.pid"
)

// serverOptions go to mariadbd, and to mariadb-install-db, which passes
// them on to the mariadbd it bootstraps with: a small buffer pool and redo
// log, and no flushing that only a crash would need.
var serverOptions = []string{
	"--innodb-buffer-pool-size=32M",
	"--innodb-log-file-size=16M",
	"--innodb-flush-log-at-trx-commit=0",
	"--innodb-doublewrite=0",
	"--character-set-server=utf8mb4",
	"--collation-server=utf8mb4_general_ci",
}

// Server is a running MariaDB server, reachable only through its unix
// socket.
type Server struct {
	Dir    string // the server's directory: data, logs, socket, my.cnf
	Socket string // Dir/sock

	cmd  *exec.Cmd
	done chan struct{} // closed once mariadbd has exited
}

// Start makes, starts and waits for a new server, and registers a cleanup
// that stops it and removes its directory. It skips t if MariaDB is not
// installed, or fails it if CAIRN_REQUIRE_INTEGRATION=1.
func Start(t testing.TB) *Server {
	t.Helper()
	for _, name := range []string{"mariadbd", "mariadb-install-db", "mariadb-admin", "mariadb"} {
		if Program(name) == name {
			unavailable(t, fmt.Errorf("%s not found in PATH, /usr/sbin or /usr/bin", name))
		}
	}
	var runAs []string
	var owner *user.User
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			unavailable(t, fmt.Errorf("running as root and no mysql OS user to run mariadbd as (%v)", err))
		}
		runAs, owner = []string{"--user=mysql"}, u
	}
	reapOrphans(t)
	// Not t.TempDir: its parents are private to the current user, and a
	// socket path must stay under about 100 bytes.
	dir, err := os.MkdirTemp(socketParent(), dirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, Socket: filepath.Join(dir, "sock")}
	t.Cleanup(func() { s.stop(t) })
	if err := s.prepare(owner); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	install := exec.CommandContext(ctx, Program("mariadb-install-db"), slices.Concat([]string{
		"--no-defaults", "--datadir=" + s.data(), "--auth-root-authentication-method=normal", "--skip-test-db",
	}, runAs, serverOptions)...)
	install.Dir, install.Env = s.Dir, serverEnv()
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("testmysql: mariadb-install-db: %v\n%s", err, out)
	}
	if err := s.start(runAs); err != nil {
		t.Fatal(err)
	}
	if err := s.waitReady(ctx); err != nil {
		t.Fatalf("testmysql: %v\nserver log:\n%s", err, s.readLogs())
	}
	return s
}

// Env is the environment that points client programs at the server as
// the database user root (see the package documentation).
func (s *Server) Env() []string {
	return []string{"MYSQL_HOME=" + s.Dir, "MARIADB_HOME=" + s.Dir, "MYSQL_UNIX_PORT=" + s.Socket}
}

// Cmd prepares a client program (mariadb, mariadb-dump, mariadb-admin, or
// their mysql names) to run against the server, as the current user.
func (s *Server) Cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, Program(name), args...)
	cmd.Env = append(cleanEnv(), s.Env()...)
	return cmd
}

// Exec runs sql (one or more statements) with the mariadb client in
// database db (none if empty), stopping at the first error, and returns
// the output without the final newline: no column names, a tab between
// columns. It fails t on any error.
func (s *Server) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	args := []string{"-uroot", "-N", "-B", "-e", sql}
	if db != "" {
		args = append(args, db)
	}
	var stdout, stderr bytes.Buffer
	cmd := s.Cmd(t.Context(), "mariadb", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testmysql: mariadb %s: %v\n%s\nSQL: %s", db, err, stderr.Bytes(), sql)
	}
	return strings.TrimSuffix(stdout.String(), "\n")
}

// aliases pairs the mariadb names of the client programs with their
// older mysql names, for installations that have only one of them. The
// server programs have no alias: a mysqld without a mariadbd beside it is
// MySQL's or a MariaDB older than 10.4, and Start skips.
var aliases = map[string]string{"mariadb": "mysql", "mariadb-dump": "mysqldump", "mariadb-admin": "mysqladmin"}

// Program returns the path of a MariaDB program, looked up in PATH, then
// in /usr/sbin and /usr/bin (a user's PATH may lack sbin), under its
// mariadb name, then its mysql name (either may be given); or name itself
// if there is no such program.
func Program(name string) string {
	names := []string{name}
	for maria, my := range aliases {
		switch name {
		case maria:
			names = append(names, my)
		case my:
			names = append(names, maria)
		}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if p := filepath.Join(dir, n); isExecutable(p) {
				return p
			}
		}
	}
	return name
}

func (s *Server) data() string { return filepath.Join(s.Dir, "data") }

// prepare writes the owner file and the client option file, and hands
// the directory to the mysql OS user if there is one to run as.
func (s *Server) prepare(owner *user.User) error {
	if err := os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	// Not world-writable: the clients would ignore it. The character set
	// keeps clients from choosing latin1 in a C locale.
	cnf := fmt.Sprintf("[client]\nprotocol = socket\nhost = localhost\nsocket = %s\nuser = root\n"+
		"default-character-set = utf8mb4\n", s.Socket)
	if err := os.WriteFile(filepath.Join(s.Dir, "my.cnf"), []byte(cnf), 0o644); err != nil {
		return err
	}
	if owner == nil {
		return nil
	}
	uid, err := strconv.Atoi(owner.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(owner.Gid)
	if err != nil {
		return err
	}
	return os.Chown(s.Dir, uid, gid)
}

// start runs mariadbd in the background; a goroutine waits for its exit.
func (s *Server) start(runAs []string) error {
	console, err := os.Create(filepath.Join(s.Dir, "console.log"))
	if err != nil {
		return err
	}
	defer console.Close() // mariadbd has its own copy
	s.cmd = exec.Command(Program("mariadbd"), slices.Concat([]string{
		"--no-defaults", "--datadir=" + s.data(), "--socket=" + s.Socket, "--skip-networking",
		"--pid-file=" + filepath.Join(s.Dir, pidFile), "--log-error=" + filepath.Join(s.Dir, "error.log"),
	}, runAs, serverOptions)...)
	s.cmd.Dir, s.cmd.Env = s.Dir, serverEnv()
	s.cmd.Stdout, s.cmd.Stderr = console, console
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("testmysql: start mariadbd: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	return nil
}

// waitReady polls mariadb-admin ping until the server answers.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		out, err := s.Cmd(ctx, "mariadb-admin", "ping").CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mariadb-admin ping: %v: %s", err, out)
		case <-s.done:
			return fmt.Errorf("mariadbd exited: %v", s.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop shuts the server down, kills it if that fails or takes too long,
// and removes its directory.
func (s *Server) stop(t testing.TB) {
	if s.cmd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		out, err := s.Cmd(ctx, "mariadb-admin", "shutdown").CombinedOutput()
		if err == nil {
			select {
			case <-s.done:
			case <-ctx.Done():
				err = errors.New("still running")
			}
		}
		select {
		case <-s.done:
		default:
			t.Logf("testmysql: mariadb-admin shutdown: %v %s; killing mariadbd\nserver log:\n%s", err, out, s.readLogs())
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		t.Error(err)
	}
}

func (s *Server) readLogs() string {
	var b strings.Builder
	for _, name := range []string{"console.log", "error.log"} {
		log, _ := os.ReadFile(filepath.Join(s.Dir, name))
		b.Write(log)
	}
	return b.String()
}

// reapOrphans kills and removes the servers of test processes that are
// gone. Servers of running tests (other packages, run in parallel) stay.
func reapOrphans(t testing.TB) {
	dirs, _ := filepath.Glob(filepath.Join(socketParent(), dirPrefix+"*"))
	for _, dir := range dirs {
		owner, ok := readPID(filepath.Join(dir, ownerFile))
		if !ok || syscall.Kill(owner, 0) != syscall.ESRCH {
			continue // starting, not ours, or its test still runs
		}
		var err error
		// Unless the pid was reused since: mariadbd's command line names
		// its directory.
		if pid, ok := readPID(filepath.Join(dir, pidFile)); ok {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cmdline, []byte(dir+"/")) {
				err = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		err = errors.Join(err, os.RemoveAll(dir))
		t.Logf("testmysql: killed the server in %s left by process %d: %v", dir, owner, err)
	}
}

func readPID(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// socketParent is where the server's directory goes: the temporary
// directory, unless its path is too long for a unix socket inside.
func socketParent() string {
	if d := os.TempDir(); len(d) <= 60 {
		return d
	}
	return "/tmp"
}

// cleanEnv is the current environment without the variables that would
// point client programs elsewhere or log them in otherwise (MYSQL_HOST,
// MYSQL_PWD, MARIADB_HOME…).
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MYSQL_") || strings.HasPrefix(kv, "MARIADB_")
	})
}

func serverEnv() []string { return append(cleanEnv(), "LC_ALL=C") }

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("testmysql: %v (CAIRN_REQUIRE_INTEGRATION=1; apt-get install mariadb-server)", err)
	}
	t.Skipf("testmysql: %v; apt-get install mariadb-server to run this test", err)
}
