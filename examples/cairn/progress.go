package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 250 * time.Millisecond

// progressLine is one status line on stderr, redrawn in place. It draws
// only when stderr is a terminal and --quiet is not set.
type progressLine struct {
	a     *app
	on    bool
	width int
}

func (a *app) progressLine() *progressLine {
	width := 80
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 10 {
		width = n
	}
	return &progressLine{a: a, on: !a.quiet && isTerminal(a.stderr), width: width}
}

// show replaces the line with s, cut to the terminal width so that it does
// not wrap, which would break the redraw.
func (p *progressLine) show(s string) {
	if !p.on {
		return
	}
	if r := []rune(s); len(r) > p.width-1 {
		s = string(r[:p.width-1])
	}
	p.a.mu.Lock()
	defer p.a.mu.Unlock()
	fmt.Fprint(p.a.stderr, "\r\x1b[K"+s)
}

// clear erases the line.
func (p *progressLine) clear() {
	if !p.on {
		return
	}
	p.a.mu.Lock()
	defer p.a.mu.Unlock()
	fmt.Fprint(p.a.stderr, "\r\x1b[K")
}

// rate returns bytes per second over elapsed.
func rate(bytes uint64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(bytes) / elapsed.Seconds()
}

func formatBackupProgress(p repo.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] ", formatDuration(p.Elapsed))
	if p.TotalFiles > 0 {
		fmt.Fprintf(&b, "%d/%d files", p.Files, p.TotalFiles)
	} else {
		fmt.Fprintf(&b, "%d files", p.Files)
	}
	bps := rate(p.Bytes, p.Elapsed)
	fmt.Fprintf(&b, ", %s, %s/s", formatBytes(p.Bytes), formatBytes(uint64(bps)))
	if p.TotalBytes > 0 && p.Bytes <= p.TotalBytes {
		fmt.Fprintf(&b, ", %d%%", p.Bytes*100/p.TotalBytes)
		if bps > 0 {
			eta := time.Duration(float64(p.TotalBytes-p.Bytes) / bps * float64(time.Second))
			fmt.Fprintf(&b, " ETA %s", formatDuration(eta))
		}
	}
	if p.Errors > 0 {
		fmt.Fprintf(&b, ", %d errors", p.Errors)
	}
	if p.Current != "" {
		fmt.Fprintf(&b, "  %s", p.Current)
	}
	return b.String()
}

func formatRestoreProgress(p repo.RestoreProgress) string {
	s := fmt.Sprintf("[%s] %d files, %d dirs, %s, %s/s", formatDuration(p.Elapsed),
		p.Files, p.Dirs, formatBytes(p.Bytes), formatBytes(uint64(rate(p.Bytes, p.Elapsed))))
	if p.Verified > 0 {
		s += fmt.Sprintf(", %d verified", p.Verified)
	}
	if p.Current != "" {
		s += "  " + p.Current
	}
	return s
}
