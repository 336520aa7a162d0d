package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthz(t *testing.T) {
	h := NewHealth()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	code, body := get()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "not running")
	h.setRunning(true)
	code, body = get()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "docker: not contacted yet")
	h.setDocker(nil)
	h.setRepo(errors.New("no repository there"))
	code, body = get()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "repository: no repository there")
	h.setRepo(nil)
	code, body = get()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body)
}

// pingRunner is a fakeRunner with a repository that can be unreachable.
type pingRunner struct {
	*fakeRunner
	err error
}

func (p *pingRunner) Ping(context.Context) error { return p.err }

func TestAgentHealthFollowsRepository(t *testing.T) {
	t.Parallel()
	ta := newTestAgent(t, nil, vol("v", labelled()))
	pr := &pingRunner{fakeRunner: ta.runner, err: errors.New("no repository there")}
	ta.runner.fail = errors.New("backup failed")
	ta.Agent.runner = pr
	ta.start(t)
	require.Eventually(t, func() bool {
		err := ta.health.Err()
		return err != nil && err.Error() == "repository: no repository there"
	}, agentWait, agentTick)
	require.Eventually(t, func() bool { return ta.logs.has(`"msg":"backup failed"`) }, agentWait, agentTick)

	srv := httptest.NewServer(ta.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, err = http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `cairn_agent_runs_total{result="failure",target="volume/v"}`)
	require.Contains(t, string(body), "cairn_agent_up 1")
	require.Contains(t, string(body), "go_goroutines")
}

func TestWebhookErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL}
	require.ErrorContains(t, w.Post(t.Context(), Event{}), "500")
	require.Error(t, (&Webhook{URL: "http://127.0.0.1:1"}).Post(t.Context(), Event{}))
	var none *Webhook
	require.False(t, none.Wants(resultFailure))
	require.True(t, w.Wants(resultFailure))
	require.False(t, w.Wants(resultSuccess))
}
