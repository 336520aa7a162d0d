// Command agent is a reference backup agent for Docker hosts built on
// cairn's public API. It backs up what is labelled cairn.backup=true, each
// target on the schedule and with the retention its labels give: a
// volume (target volume/NAME); a container labelled cairn.dump=CMD, whose
// CMD runs inside it and whose output is stored (dump/CONTAINER); any
// other container, whose named volumes are backed up together, one
// snapshot each (container/CONTAINER).
//
//	agent --repo /backups --password-file /run/secrets/cairn [--init]
//
// Every flag can also be set by an environment variable (CAIRN_...); the
// flag wins. Run agent -h for the list. Logs are JSON on stderr; /metrics
// serves Prometheus metrics and /healthz the agent's health.
//
// # How it is built
//
// Labels become a Target in ParseTarget, a pure function: a label it does
// not know or a value it cannot read is a *ConfigError, which the agent
// logs and exports (cairn_agent_config_error) while it keeps serving every
// other target. The Agent lists labelled objects through a Discoverer at
// start, after each Docker event and every --resync, and keeps one schedule
// loop per valid target. The repository work is behind the Runner
// interface (cairnRunner in production), so scheduling, concurrency,
// metrics and the webhook are tested with fakes.
//
// # Invariants
//
//   - A target never has two runs at once: a run that falls due while the
//     target's previous run (or its scheduled forget) goes on is skipped
//     and logged, and the next one is due at the next scheduled time.
//   - At most --max-concurrent backups and drills run at once; each waits a
//     random jitter first. Prune takes no slot and holds the repository's
//     exclusive lock, which backups do not wait for.
//   - No run brings the agent down: errors and panics are logged, counted
//     and posted to the webhook, and a repository that cannot be reached or
//     does not exist fails each run with a clear error until it can.
//   - On SIGTERM or SIGINT the agent stops scheduling, cancels the runs
//     (stopped containers are started again by source/docker), waits for
//     them and exits 0; the repository stays valid, as after any
//     cancelled cairn operation.
package main
