// Command dumper stands in for a database server in the exec dump tests.
// It runs as PID 1 of a FROM scratch container and sleeps until SIGTERM;
// the tests exec it again in the container as the dump command:
//
//	/dumper emit N   N bytes of deterministic data (Data) on stdout,
//	                 progress on stderr, exit 0
//	/dumper fail     some stdout, "FATAL: no such database" on stderr, exit 3
//	/dumper hang N   N bytes on stdout, "hanging" on stderr, then sleeps
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		return
	}
	n := 0
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	switch os.Args[1] {
	case "emit":
		emit(n)
	case "fail":
		emit(1000)
		fmt.Fprintln(os.Stderr, "FATAL: no such database")
		os.Exit(3)
	case "hang":
		emit(n)
		fmt.Fprintln(os.Stderr, "hanging")
		time.Sleep(time.Hour)
	default:
		fmt.Fprintln(os.Stderr, "dumper: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// emit writes the first n bytes of Data to stdout in pieces of 64 KiB,
// with a line on stderr after every MiB.
func emit(n int) {
	data := Data(n)
	for off := 0; off < n; off += 64 << 10 {
		end := min(off+64<<10, n)
		if _, err := os.Stdout.Write(data[off:end]); err != nil {
			fmt.Fprintln(os.Stderr, "dumper:", err)
			os.Exit(1)
		}
		if end%(1<<20) == 0 {
			fmt.Fprintf(os.Stderr, "dumper: %d bytes written\n", end)
		}
	}
}

// Data is the test's expected dump of n bytes (a copy lives in the test).
func Data(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{'c', 'a', 'i', 'r', 'n'}).Read(b)
	return b
}
