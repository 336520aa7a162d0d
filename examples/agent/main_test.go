package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestRunExitStatus(t *testing.T) {
	env := envOf(map[string]string{"CAIRN_PASSWORD": "pw", "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
	require.Equal(t, 2, run(t.Context(), nil, env, io.Discard), "no --repo")
	require.Equal(t, 0, run(t.Context(), []string{"-h"}, env, io.Discard))

	// Starts without a daemon or a repository, and stops cleanly.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	logs := &syncBuffer{}
	args := []string{"--repo", filepath.Join(t.TempDir(), "none"), "--listen", "127.0.0.1:0"}
	require.Equal(t, 0, run(ctx, args, env, logs))
	require.True(t, logs.has(`"msg":"agent started"`), logs.String())
	require.True(t, logs.has(`"msg":"agent stopped"`), logs.String())

	require.Equal(t, 1, run(t.Context(), append(args[:2], "--listen", "256.0.0.1:1"), env, io.Discard), "cannot listen")
}

// TestAgentWithoutRepository: every run fails with a clear error, the
// agent keeps going, and /healthz says why.
func TestAgentWithoutRepository(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "none")
	cfg, err := ParseConfig([]string{"--repo", dir, "--jitter", "0s", "--default-schedule", "@every 1s"},
		envOf(map[string]string{"CAIRN_PASSWORD": "pw"}), io.Discard)
	require.NoError(t, err)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	runner := newCairnRunner(cfg, nil, log)
	a := newAgentFromConfig(cfg, runner, newFakeDisc(vol("v", labelled())), log)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(a.metrics.runs.WithLabelValues("volume/v", resultFailure)) >= 2
	}, agentWait, agentTick)
	require.ErrorContains(t, a.health.Err(), "repository: repository "+dir+": no repository there")
	require.True(t, logs.has("start the agent with --init"), logs.String())
}
