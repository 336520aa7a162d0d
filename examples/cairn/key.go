package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

type keyCmd struct {
	newPasswordFile string
	host, user      string
}

func keyCommand() *command {
	c := &keyCmd{}
	return &command{
		name:     "key",
		synopsis: "list | add | remove ID | passwd",
		summary:  "manage the passwords (keys) that open the repository",
		help: `list    show the keys; * marks the one in use
add     add a key for a new password
remove  delete a key (not the one in use: open with another password)
passwd  replace the key in use by one for a new password

add and passwd read the new password from --new-password-file or $` + envNewPassword + `.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *keyCmd) flags(set *flag.FlagSet) {
	set.StringVar(&c.newPasswordFile, "new-password-file", "", "read the new password from `FILE` (default $"+envNewPassword+")")
	set.StringVar(&c.host, "host", "", "record `HOST` in the new key (default: this machine's)")
	set.StringVar(&c.user, "user", "", "record `USER` in the new key (default: the current user)")
}

func (c *keyCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usageError(errors.New("key: give list, add, remove ID or passwd"))
	}
	verb, args := args[0], args[1:]
	wantArgs := 0
	if verb == "remove" {
		wantArgs = 1
	}
	switch {
	case verb != "list" && verb != "add" && verb != "remove" && verb != "passwd":
		return usageError(fmt.Errorf("key: unknown verb %q: want list, add, remove or passwd", verb))
	case len(args) != wantArgs:
		return usageError(fmt.Errorf("key %s: wrong number of arguments", verb))
	}
	var newPassword string
	if verb == "add" || verb == "passwd" {
		// Before opening: a missing password should not cost a key derivation.
		var err error
		if newPassword, err = c.newPassword(); err != nil {
			return err
		}
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	opts := repo.KeyOptions{Host: c.host, Username: c.user}
	switch verb {
	case "list":
		return listKeys(ctx, a, r)
	case "add":
		id, err := r.AddKey(ctx, newPassword, opts)
		if err != nil {
			return fmt.Errorf("add key: %w", err)
		}
		return a.reportKey("added key %s", id)
	case "passwd":
		id, err := r.ChangePassword(ctx, newPassword, opts)
		if err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		return a.reportKey("password changed: the new key is %s, the old one is removed", id)
	}
	return removeKey(ctx, a, r, args[0])
}

// newPassword reads the new password from --new-password-file or the
// environment.
func (c *keyCmd) newPassword() (string, error) {
	if c.newPasswordFile != "" {
		return readPasswordFile(c.newPasswordFile)
	}
	if pw := os.Getenv(envNewPassword); pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("no new password given: set %s or use --new-password-file FILE", envNewPassword)
}

func (a *app) reportKey(format string, id repo.ID) error {
	if a.json {
		return a.printJSON(struct {
			ID repo.ID `json:"id"`
		}{id})
	}
	a.infof(format, id.Short())
	return nil
}

// keyJSON is one key as listed with --json.
type keyJSON struct {
	ID       repo.ID   `json:"id"`
	Current  bool      `json:"current"`
	Created  time.Time `json:"created"`
	Host     string    `json:"host"`
	Username string    `json:"username"`
}

func listKeys(ctx context.Context, a *app, r *repo.Repository) error {
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	if a.json {
		out := make([]keyJSON, len(keys))
		for i, k := range keys {
			out[i] = keyJSON{ID: k.ID, Current: k.Current, Created: k.Created, Host: k.Host, Username: k.Username}
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, " ID\tUser\tHost\tCreated")
	for _, k := range keys {
		mark := " "
		if k.Current {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", mark, k.ID.Short(), k.Username, k.Host, k.Created.Local().Format(timeLayout))
	}
	return tw.Flush()
}

// removeKey deletes the key whose ID is or starts with s.
func removeKey(ctx context.Context, a *app, r *repo.Repository, s string) error {
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	var match []repo.KeyInfo
	for _, k := range keys {
		if strings.HasPrefix(k.ID.String(), strings.ToLower(s)) {
			match = append(match, k)
		}
	}
	switch {
	case s == "" || len(match) == 0:
		return fmt.Errorf("key %q not found", s)
	case len(match) > 1:
		return fmt.Errorf("key %q is ambiguous: %d keys start with it", s, len(match))
	}
	k := match[0]
	if err := r.RemoveKey(ctx, k.ID); errors.Is(err, repo.ErrCurrentKey) {
		return fmt.Errorf("key %s is the one in use: open the repository with another key's password to remove it", k.ID.Short())
	} else if err != nil {
		return fmt.Errorf("remove key %s: %w", k.ID.Short(), err)
	}
	return a.reportKey("removed key %s", k.ID)
}
