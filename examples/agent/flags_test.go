package main

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]string{"--repo", "/r"}, envOf(map[string]string{"CAIRN_PASSWORD": "pw"}), io.Discard)
	require.NoError(t, err)
	host, _ := os.Hostname()
	require.Equal(t, "/r", c.Repo)
	require.Equal(t, "pw", c.password)
	require.False(t, c.Init)
	require.Equal(t, host, c.Host)
	require.Equal(t, "@daily", c.DefaultSchedule)
	require.Equal(t, "@hourly", c.ForgetSchedule)
	require.Equal(t, "@weekly", c.PruneSchedule)
	require.Equal(t, "@daily", c.DrillSchedule)
	require.NotNil(t, c.forget)
	require.NotNil(t, c.prune)
	require.NotNil(t, c.drill)
	require.Equal(t, 10.0, c.DrillSample)
	require.Equal(t, 2, c.MaxConcurrent)
	require.Equal(t, 30*time.Second, c.Jitter)
	require.Zero(t, c.LimitUpload+c.LimitDownload+c.LimitRead)
	require.Equal(t, ":9477", c.Listen)
	require.Empty(t, c.Webhook)
	require.Equal(t, "failure", c.WebhookOn)
	require.Equal(t, 5*time.Minute, c.Resync)
	require.Equal(t, 6*time.Hour, c.RunTimeout)
}

func TestParseConfigEnvAndFlags(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("secret\n"), 0o600))
	env := envOf(map[string]string{
		"CAIRN_REPOSITORY": "s3:https://host/bucket/prefix", "CAIRN_PASSWORD_FILE": pwFile, "CAIRN_PASSWORD": "ignored",
		"CAIRN_INIT": "true", "CAIRN_HOST": "h1", "CAIRN_DEFAULT_SCHEDULE": "@every 30s",
		"CAIRN_FORGET_SCHEDULE": "off", "CAIRN_PRUNE_SCHEDULE": "0 3 * * 0", "CAIRN_DRILL_SCHEDULE": "off",
		"CAIRN_DRILL_SAMPLE": "25", "CAIRN_MAX_CONCURRENT": "4", "CAIRN_JITTER": "0s",
		"CAIRN_LIMIT_UPLOAD": "100", "CAIRN_LIMIT_DOWNLOAD": "200", "CAIRN_LIMIT_READ": "300",
		"CAIRN_LISTEN": "127.0.0.1:1", "CAIRN_WEBHOOK_URL": "http://hook", "CAIRN_WEBHOOK_ON": "always",
		"CAIRN_RESYNC": "1m", "CAIRN_RUN_TIMEOUT": "1h",
	})
	c, err := ParseConfig(nil, env, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "secret", c.password)
	require.True(t, c.Init)
	require.Equal(t, "h1", c.Host)
	require.Nil(t, c.forget)
	require.Nil(t, c.drill)
	require.NotNil(t, c.prune)
	require.Equal(t, 25.0, c.DrillSample)
	require.Equal(t, 4, c.MaxConcurrent)
	require.Zero(t, c.Jitter)
	require.Equal(t, []int64{100, 200, 300}, []int64{c.LimitUpload, c.LimitDownload, c.LimitRead})
	require.Equal(t, "always", c.WebhookOn)
	require.Equal(t, time.Minute, c.Resync)

	// A flag wins over its variable.
	c, err = ParseConfig([]string{"--init=false", "--max-concurrent", "1", "--host", "h2", "--jitter", "5s"}, env, io.Discard)
	require.NoError(t, err)
	require.False(t, c.Init)
	require.Equal(t, 1, c.MaxConcurrent)
	require.Equal(t, "h2", c.Host)
	require.Equal(t, 5*time.Second, c.Jitter)
}

func TestParseConfigErrors(t *testing.T) {
	base := map[string]string{"CAIRN_REPOSITORY": "/r", "CAIRN_PASSWORD": "pw"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no repository", nil, map[string]string{"CAIRN_REPOSITORY": ""}, "no repository"},
		{"no password", nil, map[string]string{"CAIRN_PASSWORD": ""}, "no password"},
		{"missing password file", []string{"--password-file", "/nonexistent/pw"}, base, "password file"},
		{"bad env schedule", nil, map[string]string{"CAIRN_DEFAULT_SCHEDULE": "daily"}, "--default-schedule"},
		{"bad prune schedule", []string{"--prune-schedule", "x"}, base, "--prune-schedule"},
		{"bad env number", nil, map[string]string{"CAIRN_MAX_CONCURRENT": "zero"}, "$CAIRN_MAX_CONCURRENT"},
		{"zero concurrency", []string{"--max-concurrent", "0"}, base, "at least 1"},
		{"negative jitter", []string{"--jitter", "-1s"}, base, "duration"},
		{"bad limit", []string{"--limit-upload", "-5"}, base, "KiB"},
		{"sample zero", []string{"--drill-sample", "0"}, base, "percentage"},
		{"sample over 100", []string{"--drill-sample", "101"}, base, "percentage"},
		{"webhook-on", []string{"--webhook-on", "sometimes"}, base, "failure or always"},
		{"bad env bool", nil, map[string]string{"CAIRN_INIT": "maybe"}, "$CAIRN_INIT"},
		{"unknown flag", []string{"--nope"}, base, "not defined"},
		{"arguments", []string{"extra"}, base, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tc.env) // "" unsets

			_, err := ParseConfig(tc.args, envOf(env), io.Discard)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
