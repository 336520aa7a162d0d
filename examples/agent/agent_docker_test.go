//go:build linux

package main

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/docker"
)

// What testdata/stub writes and prints (copies of its Site and Dump).
const (
	stubIndex = "<h1>cairn agent test</h1>\n"
	stubDump  = "-- stub dump\nCREATE TABLE items (id int);\nINSERT INTO items VALUES (1), (2), (3);\n"
)

const (
	e2ePassword = "agent end-to-end"
	e2eHost     = "cairn-agent-e2e"
	e2eKeepLast = 2
	e2eTimeout  = 75 * time.Second // for the agent to have done everything below
)

// TestDockerAgent runs the agent's image, built from its Dockerfile, as
// it runs in production: a container with the Docker socket and a
// repository directory mounted, backing up what it finds by label every
// 3 s, with forget after each backup and prune and drills on schedules.
// The targets: a volume whose container must be stopped during backups,
// a database-like container dumped by exec, and one whose dump fails.
// The test watches the repository and /metrics until every kind of run
// has happened several times, then stops the agent with SIGTERM and
// checks the repository.
func TestDockerAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent's image: minutes the first time")
	}
	e := newDockerEnv(t)
	sock := dockerSocket(t)
	stub := e.stubImage()
	image := e.agentImage(e.goImage())
	begin := time.Now()

	prefix := fmt.Sprintf("cairn-agent-e2e-%d", os.Getpid())
	repoDir := t.TempDir()
	r := e2eInitRepo(t, repoDir)
	keep := "cairn.keep-last=" + strconv.Itoa(e2eKeepLast)
	web := e.volume(prefix+"-web", e2eLabels("cairn.backup=true", "cairn.schedule=@every 3s",
		"cairn.stop-during-backup=true", keep))
	site := e.container(prefix+"-site", stub, []string{"web", "/data"},
		e2eLabels(docker.StopLabel+"=true"), web+":/data")
	siteStart := e.inspect(site).State.StartedAt
	db := e.container(prefix+"-db", stub, nil,
		e2eLabels("cairn.backup=true", `cairn.dump=["/stub", "dump"]`, keep))
	bad := e.container(prefix+"-db-bad", stub, nil,
		e2eLabels("cairn.backup=true", "cairn.dump=/stub fail"))
	webID, dbID, badID := "volume/"+web, "dump/"+db, "dump/"+bad

	agent := e.runAgent(prefix+"-agent", image, sock, repoDir)
	base := e.agentURL(agent)
	t.Logf("agent up at %s, %v after the images were ready", base, time.Since(begin).Round(time.Millisecond))

	// Until everything has happened: backups on schedule, retention after
	// each (never more than keep-last+1 snapshots: the new one, before
	// forget), failures that leave nothing, prunes and drills.
	deadline := time.Now().Add(e2eTimeout)
	var m promText
	seen := map[string]map[repo.ID]time.Time{webID: {}, dbID: {}} // every snapshot, forgotten or not
	for {
		snaps := e2eSnapshots(t, r)
		require.LessOrEqual(t, len(snaps[webID]), e2eKeepLast+1, "snapshots of %s", webID)
		require.LessOrEqual(t, len(snaps[dbID]), e2eKeepLast+1, "snapshots of %s", dbID)
		require.Empty(t, snaps[badID], "snapshots of the failing dump")
		for id, times := range seen {
			for _, sn := range snaps[id] {
				times[sn.ID] = sn.Time
			}
		}
		m = scrapeMetrics(t, base+"/metrics")
		if m.get("cairn_agent_runs_total", "target", webID, "result", "success") >= 4 &&
			m.get("cairn_agent_runs_total", "target", dbID, "result", "success") >= 4 &&
			m.get("cairn_agent_runs_total", "target", badID, "result", "failure") >= 2 &&
			m.get("cairn_agent_forget_removed_total", "target", webID) >= 1 &&
			m.get("cairn_agent_forget_removed_total", "target", dbID) >= 1 &&
			m.get("cairn_agent_prune_runs_total", "result", "success") >= 1 &&
			m.get("cairn_agent_drill_success", "target", webID) == 1 &&
			m.get("cairn_agent_drill_success", "target", dbID) == 1 {
			break
		}
		require.False(t, time.Now().After(deadline), "after %v, /metrics has:\n%s", e2eTimeout, m.ours(prefix))
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("all seen %v after the images were ready; /metrics:\n%s", time.Since(begin).Round(time.Millisecond), m.ours(prefix))

	// On schedule: every 3 s, a run skipped now and then when the one
	// before is still going, never two at once.
	for id, times := range seen {
		at := slices.SortedFunc(maps.Values(times), time.Time.Compare)
		require.GreaterOrEqual(t, len(at), 3, "snapshots of %s seen", id)
		for i := 1; i < len(at); i++ {
			gap := at[i].Sub(at[i-1])
			require.True(t, gap > 2*time.Second && gap < 10*time.Second, "%s: snapshots at %v", id, at)
		}
	}
	require.Equal(t, 1.0, m.get("cairn_agent_up"))
	require.GreaterOrEqual(t, m.get("cairn_agent_targets"), 3.0)
	for _, id := range []string{webID, dbID, badID} {
		require.False(t, m.has("cairn_agent_config_error", "target", id), "config error of %s", id)
		require.Greater(t, m.get("cairn_agent_last_run_timestamp_seconds", "target", id), float64(begin.Unix()))
	}
	for _, id := range []string{webID, dbID} {
		require.Greater(t, m.get("cairn_agent_last_success_timestamp_seconds", "target", id), float64(begin.Unix()))
		require.InDelta(t, e2eKeepLast, m.get("cairn_agent_snapshots", "target", id), 1)
		require.Positive(t, m.get("cairn_agent_last_files", "target", id))
	}
	require.Zero(t, m.get("cairn_agent_runs_total", "target", badID, "result", "success"))
	require.False(t, m.has("cairn_agent_last_success_timestamp_seconds", "target", badID))
	require.Positive(t, m.get("cairn_agent_repository_size_bytes"))
	require.Equal(t, "ok", e2eGet(t, base+"/healthz"))

	// SIGTERM: the agent ends its runs (starting the site again if it was
	// stopped) and exits 0 well before docker stop's kill.
	stopped := e.stop(agent, 60*time.Second)
	require.Zero(t, stopped.ExitCode, "agent exit status; logs:\n%s", e.logs(agent))
	require.False(t, stopped.OOMKilled)
	e.eventually(func() bool { return e.inspect(site).State.Running }, "the site's container is not running after the agent stopped")
	require.NotEqual(t, siteStart, e.inspect(site).State.StartedAt, "the site's container was never stopped for a backup")
	e.eventually(func() bool { return len(e.helpers(web)) == 0 }, "helper containers left of volume %s", web)

	e2eVerifyRepo(t, repoDir, webID, dbID, badID, db)
}

// e2eVerifyRepo checks the repository the agent leaves, opened afresh:
// it is sound, read to the last byte; its snapshots are the agent's,
// within retention, and hold the site's files and the dump.
func e2eVerifyRepo(t *testing.T, dir, webID, dbID, badID, db string) {
	ctx := t.Context()
	r, err := repo.Open(ctx, local.New(dir), e2ePassword, repo.OpenOptions{})
	require.NoError(t, err)
	defer r.Close()
	rep, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.True(t, rep.OK(), "check: %+v", rep.Problems)

	snaps := e2eSnapshots(t, r)
	require.Empty(t, snaps[badID])
	for id, want := range map[string]struct{ file, content string }{
		webID: {"index.html", stubIndex},
		dbID:  {db + ".dump", stubDump},
	} {
		require.Contains(t, []int{e2eKeepLast, e2eKeepLast + 1}, len(snaps[id]), "snapshots of %s", id)
		sn := snaps[id][len(snaps[id])-1] // the newest
		require.Equal(t, e2eHost, sn.Host)
		fsys, err := r.FS(ctx, sn.ID)
		require.NoError(t, err)
		require.Equal(t, want.content, e2eFile(t, fsys, want.file), "%s in the newest snapshot of %s", want.file, id)
	}
}

// e2eInitRepo makes the repository the agent is given, with a cheap key so
// that the test's and the agent's opens are quick.
func e2eInitRepo(t *testing.T, dir string) *repo.Repository {
	be := local.New(dir)
	require.NoError(t, be.Create(t.Context()))
	r, err := repo.Init(t.Context(), be, e2ePassword, repo.InitOptions{
		Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// e2eSnapshots returns the snapshots by target tag, oldest first. A
// snapshot that forget removes while they are read makes it list again.
func e2eSnapshots(t *testing.T, r *repo.Repository) map[string][]*repo.Snapshot {
	for try := 0; ; try++ {
		sns, err := r.Snapshots(t.Context())
		if err != nil && try < 5 {
			continue
		}
		require.NoError(t, err)
		byTarget := map[string][]*repo.Snapshot{}
		for _, sn := range sns {
			for _, tag := range sn.Tags {
				if id, ok := strings.CutPrefix(tag, TagKey+"="); ok {
					byTarget[id] = append(byTarget[id], sn)
				}
			}
		}
		return byTarget
	}
}

// e2eFile returns the content of the one file named base in fsys.
func e2eFile(t *testing.T, fsys fs.FS, base string) string {
	var found []string
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Base(p) == base {
			found = append(found, p)
		}
		return err
	}))
	require.Len(t, found, 1, "files named %s", base)
	data, err := fs.ReadFile(fsys, found[0])
	require.NoError(t, err)
	return string(data)
}

func e2eGet(t *testing.T, url string) string {
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", url, body)
	return string(body)
}

// e2eLabels makes a label map from "key=value" pairs.
func e2eLabels(kv ...string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

// promText is a /metrics page in the Prometheus text format.
type promText string

func scrapeMetrics(t *testing.T, url string) promText { return promText(e2eGet(t, url)) }

// sample returns the value of the series name whose labels include the
// pairs kv (label, value, label, value...).
func (p promText) sample(name string, kv ...string) (float64, bool) {
	for line := range strings.Lines(string(p)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(series, "#") {
			continue
		}
		n, l := parseSeries(series)
		match := n == name
		for i := 0; match && i+1 < len(kv); i += 2 {
			match = l[kv[i]] == kv[i+1]
		}
		if match {
			v, err := strconv.ParseFloat(value, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// get is sample's value, 0 when there is no such series.
func (p promText) get(name string, kv ...string) float64 {
	v, _ := p.sample(name, kv...)
	return v
}

func (p promText) has(name string, kv ...string) bool {
	_, ok := p.sample(name, kv...)
	return ok
}

// ours returns the agent's series that concern the test: those of its
// targets (named with prefix) and those of no target.
func (p promText) ours(prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(string(p)) {
		if strings.HasPrefix(line, metricPrefix) && (!strings.Contains(line, `target="`) || strings.Contains(line, prefix)) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// parseSeries splits `name{a="x",b="y"}` into the name and the labels.
func parseSeries(s string) (string, map[string]string) {
	l := map[string]string{}
	name, rest, ok := strings.Cut(s, "{")
	if !ok {
		return s, l
	}
	rest = strings.TrimSuffix(rest, "}")
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		q, err := strconv.QuotedPrefix(v)
		if err != nil {
			break
		}
		l[k], _ = strconv.Unquote(q)
		rest = strings.TrimPrefix(v[len(q):], ",")
	}
	return name, l
}
