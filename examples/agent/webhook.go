package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// webhookTimeout bounds one POST, so a slow receiver delays nothing much.
const webhookTimeout = 10 * time.Second

// Event is the JSON body posted to the webhook.
type Event struct {
	Event      string  `json:"event"` // "backup", "drill" or "prune"
	Target     string  `json:"target"`
	Status     string  `json:"status"` // "success" or "failure"
	Error      string  `json:"error"`
	Snapshot   string  `json:"snapshot"`
	Duration   float64 `json:"duration_seconds"`
	BytesAdded uint64  `json:"bytes_added"`
	Time       string  `json:"time"` // RFC 3339
}

// Webhook posts events to a URL: every event, or only failures.
type Webhook struct {
	URL    string
	Always bool
	Client *http.Client // http.DefaultClient if nil
}

// Wants reports whether an event of status is posted.
func (w *Webhook) Wants(status string) bool {
	return w != nil && w.URL != "" && (w.Always || status == resultFailure)
}

// Post sends ev as JSON and wants a 2xx answer.
func (w *Webhook) Post(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	cli := w.Client
	if cli == nil {
		cli = http.DefaultClient
	}
	resp, err := cli.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: %s answered %s", w.URL, resp.Status)
	}
	return nil
}
