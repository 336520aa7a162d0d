package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"path"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

type lsCmd struct {
	long bool
}

func lsCommand() *command {
	c := &lsCmd{}
	return &command{
		name:     "ls",
		synopsis: "[-l|--long] ID [PATH]",
		summary:  "list what a snapshot holds under PATH, recursively",
		help: `Paths are relative to the directory that was backed up, written with a
leading "/"; PATH may be given with or without it.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *lsCmd) flags(set *flag.FlagSet) {
	set.BoolVar(&c.long, "long", false, "show mode, owner, size and time, like ls -l")
	set.BoolVar(&c.long, "l", false, "short for --long")
}

func (c *lsCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return usageError(errors.New("ls: give a snapshot ID and optionally a PATH"))
	}
	dir := "."
	if len(args) == 2 {
		var err error
		if dir, err = snapshotPath(args[1]); err != nil {
			return err
		}
	}
	r, sn, fsys, err := a.openFS(ctx, args[0])
	if err != nil {
		return err
	}
	defer r.Close()
	err = iofs.WalkDir(fsys, dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir && d.IsDir() {
			return nil // list what is under PATH, not PATH itself
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n, ok := info.Sys().(*repo.Node)
		if !ok {
			return fmt.Errorf("%s: no metadata", p)
		}
		return c.print(a, displayPath(p), n)
	})
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("%s: not found in snapshot %s", displayPath(dir), sn.ID.Short())
	}
	return err
}

func (c *lsCmd) print(a *app, p string, n *repo.Node) error {
	switch {
	case a.json:
		return a.printJSON(newLsEntry(p, n))
	case c.long:
		line := fmt.Sprintf("%s %-8s %-8s %12d %s %s", modeString(&n.Entry), owner(n.User, n.UID),
			owner(n.Group, n.GID), n.Size, n.ModTime.Local().Format(timeLayout), p)
		if n.Type == source.TypeSymlink {
			line += " -> " + n.LinkTarget
		}
		_, err := fmt.Fprintln(a.stdout, line)
		return err
	}
	_, err := fmt.Fprintln(a.stdout, p)
	return err
}

// lsEntry is one line of ls --json.
type lsEntry struct {
	Path        string    `json:"path"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Mode        uint32    `json:"mode"`
	Permissions string    `json:"permissions"`
	Size        int64     `json:"size"`
	UID         uint32    `json:"uid"`
	GID         uint32    `json:"gid"`
	User        string    `json:"user,omitempty"`
	Group       string    `json:"group,omitempty"`
	ModTime     time.Time `json:"mtime"`
	LinkTarget  string    `json:"link_target,omitempty"`
	Hardlink    string    `json:"hardlink,omitempty"`
}

func newLsEntry(p string, n *repo.Node) lsEntry {
	return lsEntry{Path: p, Name: path.Base(p), Type: n.Type.String(), Mode: uint32(n.Mode()),
		Permissions: modeString(&n.Entry), Size: n.Size, UID: n.UID, GID: n.GID, User: n.User,
		Group: n.Group, ModTime: n.ModTime, LinkTarget: n.LinkTarget, Hardlink: n.Hardlink}
}

// snapshotPath turns a path given on the command line ("/a/b", "a/b", "/")
// into an io/fs path in the snapshot.
func snapshotPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return ".", nil
	}
	p = path.Clean(p)
	if !iofs.ValidPath(p) {
		return "", fmt.Errorf("invalid path %q in snapshot", p)
	}
	return p, nil
}

// displayPath is the inverse of snapshotPath.
func displayPath(p string) string {
	if p == "." {
		return "/"
	}
	return "/" + p
}

// owner is a user or group name, or the number when the name is unknown.
func owner(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

// modeString formats e's type and permissions as ls -l does.
func modeString(e *source.Entry) string {
	var b [10]byte
	const types = "?-dlpcbs" // indexed by source.Type
	b[0] = '?'
	if int(e.Type) < len(types) {
		b[0] = types[e.Type]
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		b[1+i] = '-'
		if e.Perm&(1<<(8-i)) != 0 {
			b[1+i] = rwx[i]
		}
	}
	special := func(i int, set bool, lower byte) {
		if !set {
			return
		}
		if b[i] == '-' {
			b[i] = lower - 'a' + 'A'
		} else {
			b[i] = lower
		}
	}
	special(3, e.Perm&iofs.ModeSetuid != 0, 's')
	special(6, e.Perm&iofs.ModeSetgid != 0, 's')
	special(9, e.Perm&iofs.ModeSticky != 0, 't')
	return string(b[:])
}
