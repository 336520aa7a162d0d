package main

import (
	"errors"
	"net/http"
	"sync"
)

// Health is what /healthz reports: whether the agent's loop runs and
// whether the last contact with the Docker daemon and with the
// repository succeeded.
type Health struct {
	mu      sync.Mutex
	running bool
	docker  error
	repo    error
}

var errNotYet = errors.New("not contacted yet")

// NewHealth returns a Health that is not yet healthy.
func NewHealth() *Health { return &Health{docker: errNotYet, repo: errNotYet} }

func (h *Health) setRunning(v bool)   { h.mu.Lock(); h.running = v; h.mu.Unlock() }
func (h *Health) setDocker(err error) { h.mu.Lock(); h.docker = err; h.mu.Unlock() }
func (h *Health) setRepo(err error)   { h.mu.Lock(); h.repo = err; h.mu.Unlock() }

// Err returns why the agent is unhealthy, or nil.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.running:
		return errors.New("agent loop not running")
	case h.docker != nil:
		return errors.New("docker: " + h.docker.Error())
	case h.repo != nil:
		return errors.New("repository: " + h.repo.Error())
	}
	return nil
}

// ServeHTTP answers 200 "ok", or 503 with the reason.
func (h *Health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.Err(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(err.Error() + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}
