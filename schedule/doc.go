// Package schedule runs a job at the ticks of a cron expression, in the
// process that calls it (runner schedule): plain Go, no Beam.
//
//   - Cron is a 5-field cron expression (parsed by github.com/robfig/cron/v3)
//     evaluated on the wall clock of a time zone. Across daylight-saving
//     changes a time that does not exist fires right after the gap and a
//     time that occurs twice fires once, so a nightly job runs once per
//     local day.
//   - Scheduler.Loop waits for each tick on an injectable Clock (FakeClock
//     in tests) and calls the RunFunc.
//   - History is the run history, <state_dir>/schedule_history.jsonl: one
//     JSON line per run (scheduled tick, start, end, outcome, counts and the
//     run's summary) or per skipped tick.
//
// Invariants:
//
//   - No overlap: at most one run is in progress. A tick that comes while a
//     run is still going is recorded as skipped and not made up for.
//   - Catch-up once: at start-up, when ticks passed after the last tick in
//     the history (the scheduler was down), exactly one run is made, for
//     the latest missed tick, recorded with catch_up and the number of
//     ticks it stands for. With no history (the first start) the scheduler
//     waits for the next tick.
//   - Clean stop: when the context is cancelled (SIGINT/SIGTERM) the running
//     run's context is cancelled too; Loop waits for the run to return,
//     records it as interrupted and returns nil. It does not let a run
//     finish: a nightly batch can take hours, longer than a pod's grace
//     period. An interrupted run saves no cursor watermark, so the next run
//     reads its rows again.
//   - Ticks are kept per process: one scheduler per job (runner schedule
//     holds a lock on <state_dir>/schedule.lock).
package schedule
