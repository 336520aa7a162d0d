// Command sleeper is a long-running container for the docker source's
// consistency tests; it runs as PID 1 of a FROM scratch container, which
// has no shell, so it is also the hook command:
//
//	sleeper                       sleep until SIGTERM, then exit 0
//	sleeper hook FILE CODE [TEXT] append TEXT (or "hook") to FILE, print it, exit CODE
//	sleeper sleep SECONDS         sleep, then exit 0
//	sleeper cat FILE              print FILE
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sleeper:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		return nil
	}
	switch {
	case args[0] == "hook" && len(args) >= 3:
		code, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		text := "hook"
		if len(args) > 3 {
			text = strings.Join(args[3:], " ")
		}
		f, err := os.OpenFile(args[1], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(f, text); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("hook %s: exit %d\n", text, code)
		fmt.Fprintf(os.Stderr, "hook %s: on stderr\n", text)
		os.Exit(code)
	case args[0] == "sleep" && len(args) == 2:
		secs, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		time.Sleep(time.Duration(secs) * time.Second)
		return nil
	case args[0] == "cat" && len(args) == 2:
		data, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(data)
		return err
	}
	return fmt.Errorf("usage: sleeper [hook FILE CODE [TEXT] | sleep SECONDS | cat FILE]")
}
