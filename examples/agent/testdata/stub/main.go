// Command stub plays the services of the agent's end-to-end test. It is
// PID 1 of a FROM scratch container, which has no shell, so it is also the
// command the agent execs in it:
//
//	stub              sleep until SIGTERM or SIGINT, then exit 0
//	stub web DIR      write the site's files into DIR, then sleep as above
//	stub dump         print Dump on stdout, exit 0 (a database's dump)
//	stub fail         print part of a dump, an error on stderr, exit 3
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Dump is what "stub dump" prints; the test expects it back from the
// repository byte for byte.
const Dump = "-- stub dump\nCREATE TABLE items (id int);\nINSERT INTO items VALUES (1), (2), (3);\n"

// Site is what "stub web" writes, by file name.
var Site = map[string]string{
	"index.html":       "<h1>cairn agent test</h1>\n",
	"assets/style.css": "h1 { color: teal; }\n",
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stub:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 0:
		sleep()
	case args[0] == "web" && len(args) == 2:
		if err := writeSite(args[1]); err != nil {
			return err
		}
		sleep()
	case args[0] == "dump" && len(args) == 1:
		_, err := os.Stdout.WriteString(Dump)
		return err
	case args[0] == "fail" && len(args) == 1:
		os.Stdout.WriteString(Dump[:20])
		fmt.Fprintln(os.Stderr, `FATAL: database "items" does not exist`)
		os.Exit(3)
	default:
		return fmt.Errorf("usage: stub [web DIR | dump | fail]")
	}
	return nil
}

// sleep returns on SIGTERM or SIGINT: as PID 1 without a handler the
// process would ignore them, and every stop would wait for the kill.
func sleep() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// writeSite writes Site into dir, leaving files that are there already:
// the container is started again after every backup that stops it.
func writeSite(dir string) error {
	for name, content := range Site {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
