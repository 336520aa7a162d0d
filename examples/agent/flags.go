package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Config is the agent's configuration from flags and environment.
type Config struct {
	Repo            string
	PasswordFile    string
	Init            bool
	Host            string
	DefaultSchedule string
	ForgetSchedule  string
	PruneSchedule   string
	DrillSchedule   string
	DrillSample     float64 // percent
	MaxConcurrent   int
	Jitter          time.Duration
	LimitUpload     int64 // KiB/s
	LimitDownload   int64
	LimitRead       int64
	Listen          string
	Webhook         string
	WebhookOn       string
	Resync          time.Duration
	RunTimeout      time.Duration

	password string // from the file or CAIRN_PASSWORD
	schedules
}

// schedules are the parsed global schedules; nil is off.
type schedules struct {
	forget, prune, drill cron.Schedule
}

// flagDef is one flag, its environment variable and default.
type flagDef struct {
	name, env, def, usage string
	bind                  func(fs *flag.FlagSet, name, def, usage string) // registers the flag
}

func strFlag(p *string) func(*flag.FlagSet, string, string, string) {
	return func(fs *flag.FlagSet, n, d, u string) { fs.StringVar(p, n, d, u) }
}

// valueFlag registers a flag parsed by parse, with def as its start.
func valueFlag[T any](p *T, parse func(string) (T, error)) func(*flag.FlagSet, string, string, string) {
	return func(fs *flag.FlagSet, n, d, u string) {
		fs.Func(n, u+" (default "+strconv.Quote(d)+")", func(s string) (err error) { *p, err = parse(s); return err })
	}
}

// boolFlag registers a boolean flag, which needs no value.
func boolFlag(p *bool) func(*flag.FlagSet, string, string, string) {
	return func(fs *flag.FlagSet, n, d, u string) { fs.BoolVar(p, n, d == "true", u) }
}

func (c *Config) defs() []flagDef {
	dur := func(p *time.Duration) func(*flag.FlagSet, string, string, string) {
		return valueFlag(p, parseNonNegDuration)
	}
	kib := func(p *int64) func(*flag.FlagSet, string, string, string) { return valueFlag(p, parseKiB) }
	return []flagDef{
		{"repo", "CAIRN_REPOSITORY", "", "repository: a directory or s3:https://HOST/BUCKET/PREFIX (required)", strFlag(&c.Repo)},
		{"password-file", "CAIRN_PASSWORD_FILE", "", "read the repository password from `FILE` (or set CAIRN_PASSWORD)", strFlag(&c.PasswordFile)},
		{"init", "CAIRN_INIT", "false", "create the repository if it does not exist", boolFlag(&c.Init)},
		{"host", "CAIRN_HOST", "", "host name recorded in snapshots (default: this host's name)", strFlag(&c.Host)},
		{"default-schedule", "CAIRN_DEFAULT_SCHEDULE", "@daily", "schedule of targets without cairn.schedule", strFlag(&c.DefaultSchedule)},
		{"forget-schedule", "CAIRN_FORGET_SCHEDULE", "@hourly", "when retention policies are applied (off: only after backups)", strFlag(&c.ForgetSchedule)},
		{"prune-schedule", "CAIRN_PRUNE_SCHEDULE", "@weekly", "when the repository is pruned (off: never)", strFlag(&c.PruneSchedule)},
		{"drill-schedule", "CAIRN_DRILL_SCHEDULE", "@daily", "when restore drills run (off: never)", strFlag(&c.DrillSchedule)},
		{"drill-sample", "CAIRN_DRILL_SAMPLE", "10", "percent of files a drill restores", valueFlag(&c.DrillSample, parsePercent)},
		{"max-concurrent", "CAIRN_MAX_CONCURRENT", "2", "runs at once at most", valueFlag(&c.MaxConcurrent, parsePositive)},
		{"jitter", "CAIRN_JITTER", "30s", "random delay up to this before each scheduled run", dur(&c.Jitter)},
		{"limit-upload", "CAIRN_LIMIT_UPLOAD", "0", "upload at most this many KiB/s (0: no limit)", kib(&c.LimitUpload)},
		{"limit-download", "CAIRN_LIMIT_DOWNLOAD", "0", "download at most this many KiB/s (0: no limit)", kib(&c.LimitDownload)},
		{"limit-read", "CAIRN_LIMIT_READ", "0", "read sources at most this many KiB/s (0: no limit)", kib(&c.LimitRead)},
		{"listen", "CAIRN_LISTEN", ":9477", "address serving /metrics and /healthz", strFlag(&c.Listen)},
		{"webhook", "CAIRN_WEBHOOK_URL", "", "POST a JSON event to this URL", strFlag(&c.Webhook)},
		{"webhook-on", "CAIRN_WEBHOOK_ON", "failure", "post on failure or always", strFlag(&c.WebhookOn)},
		{"resync", "CAIRN_RESYNC", "5m", "list Docker objects again this often, besides events", dur(&c.Resync)},
		{"run-timeout", "CAIRN_RUN_TIMEOUT", "6h", "cancel a run after this long", dur(&c.RunTimeout)},
	}
}

// ParseConfig reads the configuration from args and the environment
// (getenv); a flag wins over its environment variable.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, d := range c.defs() {
		d.bind(fs, d.name, d.def, d.usage+" [$"+d.env+"]")
		value := d.def
		if v := getenv(d.env); v != "" {
			value = v
		}
		if err := fs.Set(d.name, value); err != nil {
			return nil, fmt.Errorf("$%s: %w", d.env, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return c, c.finish(getenv)
}

// finish checks what the flags cannot alone and fills in defaults.
func (c *Config) finish(getenv func(string) string) error {
	var err error
	if c.Repo == "" {
		return errors.New("no repository: give --repo or set CAIRN_REPOSITORY")
	}
	if c.password, err = readPassword(c.PasswordFile, getenv("CAIRN_PASSWORD")); err != nil {
		return err
	}
	if c.WebhookOn != "failure" && c.WebhookOn != "always" {
		return fmt.Errorf("--webhook-on %q: want failure or always", c.WebhookOn)
	}
	if _, err = parseSchedule(c.DefaultSchedule); err != nil {
		return fmt.Errorf("--default-schedule %q: %w", c.DefaultSchedule, err)
	}
	for _, s := range []struct {
		name, spec string
		dst        *cron.Schedule
	}{{"forget", c.ForgetSchedule, &c.forget}, {"prune", c.PruneSchedule, &c.prune}, {"drill", c.DrillSchedule, &c.drill}} {
		if *s.dst, err = parseOptionalSchedule(s.spec); err != nil {
			return fmt.Errorf("--%s-schedule %q: %w", s.name, s.spec, err)
		}
	}
	if c.Host == "" {
		if c.Host, err = os.Hostname(); err != nil {
			return fmt.Errorf("host name: %w (give --host)", err)
		}
	}
	return nil
}

// readPassword reads the password file, without trailing line ends, or
// else takes env.
func readPassword(file, env string) (string, error) {
	if file == "" {
		if env == "" {
			return "", errors.New("no password: give --password-file or set CAIRN_PASSWORD_FILE or CAIRN_PASSWORD")
		}
		return env, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	if pw := strings.TrimRight(string(data), "\r\n"); pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("password file %s is empty", file)
}

func parseNonNegDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration such as 30s, 5m or 6h")
	}
	return d, nil
}

func parseKiB(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<30 {
		return 0, errors.New("want KiB per second, 0 for no limit")
	}
	return n, nil
}

func parsePercent(s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !(p > 0 && p <= 100) {
		return 0, errors.New("want a percentage above 0 and at most 100")
	}
	return p, nil
}

func parsePositive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errors.New("want a whole number of at least 1")
	}
	return n, nil
}
