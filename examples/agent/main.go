package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairnbackup/cairn/source/docker"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise:
// as in examples/cairn, a backup's chunks are garbage soon, and the
// default of 100 lets the heap hold twice what is live.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// run is the agent's main: it returns the exit status, 0 after a clean
// shutdown on ctx's end, 2 for bad flags and 1 when it cannot start.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "agent:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("agent failed", "error", err.Error())
		return 1
	}
	return 0
}

// serve runs the agent and its HTTP server until ctx ends.
func serve(ctx context.Context, cfg *Config, log *slog.Logger) error {
	cli, err := docker.NewClient()
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	runner := newCairnRunner(cfg, cli, log)
	defer runner.repo.close()
	a := newAgentFromConfig(cfg, runner, &dockerDiscoverer{cli: cli}, log)
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "error", err.Error())
		}
	}()
	log.Info("agent started", "repo", cfg.Repo, "host", cfg.Host, "listen", ln.Addr().String(),
		"default_schedule", cfg.DefaultSchedule, "max_concurrent", cfg.MaxConcurrent)
	a.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newCairnRunner makes the Runner of cfg's repository.
func newCairnRunner(cfg *Config, cli *client.Client, log *slog.Logger) *cairnRunner {
	rc := RepoConfig{Addr: cfg.Repo, Password: cfg.password, Init: cfg.Init,
		Upload: cfg.LimitUpload << 10, Download: cfg.LimitDownload << 10}
	return &cairnRunner{cli: cli, repo: &opener{cfg: rc, log: log}, host: cfg.Host,
		readLimit: cfg.LimitRead << 10, sample: cfg.DrillSample / 100, log: log}
}

// newAgentFromConfig makes the agent cfg describes.
func newAgentFromConfig(cfg *Config, runner Runner, disc Discoverer, log *slog.Logger) *Agent {
	set := Settings{DefaultSchedule: cfg.DefaultSchedule, Forget: cfg.forget, Prune: cfg.prune, Drill: cfg.drill,
		MaxConcurrent: cfg.MaxConcurrent, Jitter: cfg.Jitter,
		Resync: cfg.Resync, RunTimeout: cfg.RunTimeout}
	var hook *Webhook
	if cfg.Webhook != "" {
		hook = &Webhook{URL: cfg.Webhook, Always: cfg.WebhookOn == "always"}
	}
	return NewAgent(set, runner, disc, log, NewMetrics(), NewHealth(), hook)
}

// Handler serves /metrics and /healthz.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{Registry: a.metrics.Registry}))
	mux.Handle("/healthz", a.health)
	return mux
}
