package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/schedule"
)

const schedulePGJob = `name: nightly_orders
source:
  kind: postgres
  dsn_env: SHOP_DSN
  tables: [orders]
  cursor: {column: updated_at}
views: [orders.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`

func scheduleJobDir(t *testing.T) string {
	t.Helper()
	return writeFiles(t, map[string]string{
		"job.yaml":    schedulePGJob,
		"orders.yaml": "view: orders\nsource: orders\nkey: [id]\nfields:\n  id: id\n",
	})
}

func TestSchedulePrintCron(t *testing.T) {
	dir := scheduleJobDir(t)
	code, out, errOut := invoke(t, "schedule", "--job", filepath.Join(dir, "job.yaml"), "--cron", "0 2 * * *", "--tz", "Asia/Tokyo",
		"--print", "cron", "--bin", "/usr/local/bin/runner")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `# beamsync job nightly_orders: 0 2 * * * in Asia/Tokyo.
# flock -n skips a run while the previous one still holds the lock; cron does not
# catch up on runs missed while the machine was down (use anacron or runner schedule).
# The connection string must be in $SHOP_DSN (e.g. from a file sourced before the command).
CRON_TZ=Asia/Tokyo
0 2 * * * flock -n DIR/state/run.lock /usr/local/bin/runner run --job DIR/job.yaml --progress log --log-format json >> DIR/state/cron.log 2>&1
`
	if want = strings.ReplaceAll(want, "DIR", dir); out != want {
		t.Errorf("--print cron:\n%s\nwant:\n%s", out, want)
	}
}

func TestSchedulePrintCloudScheduler(t *testing.T) {
	dir := scheduleJobDir(t)
	job := filepath.Join(dir, "job.yaml")
	code, out, errOut := invoke(t, "schedule", "--job", job, "--cron", "30 1 * * 1-5", "--tz", "Europe/Berlin",
		"--print", "cloud-scheduler", "--template", "gs://tpl/nightly", "--project", "acme", "--region", "europe-west1",
		"--service-account", "sched@acme.iam.gserviceaccount.com")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `# beamsync job nightly_orders: 30 1 * * 1-5 in Europe/Berlin, on Dataflow.
# Stage the template first (and again after every change of the job or its mappings):
#   runner submit --job JOB --project acme --region europe-west1 --template gs://tpl/nightly
# Dataflow refuses a second active job of the same name, so runs never overlap.
gcloud scheduler jobs create http beamsync-nightly-orders \
  --project=acme \
  --location=europe-west1 \
  --schedule='30 1 * * 1-5' \
  --time-zone=Europe/Berlin \
  --http-method=POST \
  --uri='https://dataflow.googleapis.com/v1b3/projects/acme/locations/europe-west1/templates:launch?gcsPath=gs://tpl/nightly' \
  --headers=Content-Type=application/json \
  --message-body='{"jobName": "beamsync-nightly-orders"}' \
  --oauth-service-account-email=sched@acme.iam.gserviceaccount.com \
  --oauth-token-scope=https://www.googleapis.com/auth/cloud-platform
`
	if want = strings.ReplaceAll(want, "JOB", job); out != want {
		t.Errorf("--print cloud-scheduler:\n%s\nwant:\n%s", out, want)
	}
	code, _, errOut = invoke(t, "schedule", "--job", job, "--cron", "0 2 * * *", "--print", "cloud-scheduler", "--project", "acme")
	if code != exitUsage {
		t.Errorf("exit %d without --template, want %d", code, exitUsage)
	}
	contains(t, "stderr", errOut, "--template, --region, --service-account", "runner submit --job FILE --template gs://")
}

func TestSchedulePrintKubernetes(t *testing.T) {
	dir := scheduleJobDir(t)
	job := filepath.Join(dir, "job.yaml")
	code, out, errOut := invoke(t, "schedule", "--job", job, "--cron", "0 2 * * *", "--tz", "Asia/Tokyo",
		"--print", "kubernetes", "--image", "registry.example/beamsync:1.4")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `# beamsync job nightly_orders: 0 2 * * * in Asia/Tokyo.
# The image must hold the runner and JOB (with its mappings) at the same path.
apiVersion: batch/v1
kind: CronJob
metadata:
  name: beamsync-nightly-orders
spec:
  schedule: "0 2 * * *"
  timeZone: "Asia/Tokyo"
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 86400
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 5
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: runner
              image: "registry.example/beamsync:1.4"
              args: ["run", "--job", "JOB", "--progress", "log", "--log-format", "json"]
              env:
                - name: SHOP_DSN
                  valueFrom: {secretKeyRef: {name: beamsync-nightly-orders, key: SHOP_DSN}}
              volumeMounts:
                - {name: state, mountPath: "DIR/state"}
          volumes:
            - name: state
              persistentVolumeClaim: {claimName: beamsync-nightly-orders-state}
`
	want = strings.ReplaceAll(strings.ReplaceAll(want, "JOB", job), "DIR", dir)
	if out != want {
		t.Errorf("--print kubernetes:\n%s\nwant:\n%s", out, want)
	}
}

func TestScheduleUsageErrors(t *testing.T) {
	job := filepath.Join(scheduleJobDir(t), "job.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cron", "0 2 * * *"}, "--job is required"},
		{[]string{"--job", job}, "--cron is required"},
		{[]string{"--job", job, "--cron", "0 2 * *"}, "want 5 fields"},
		{[]string{"--job", job, "--cron", "0 2 * * *", "--tz", "Mars/Olympus"}, "is not a time zone"},
		{[]string{"--job", job, "--cron", "0 2 * * *", "--print", "systemd"}, "use cron, cloud-scheduler or kubernetes"},
		{[]string{"--job", job, "--cron", "0 2 * * *", "--print", "kubernetes"}, "needs --image"},
	} {
		code, _, errOut := invoke(t, append([]string{"schedule"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("schedule %v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

// TestScheduleRunsJobInProcess runs the scheduler on a fake clock: a tick
// runs the job through the same path as runner run, the history gets the
// summary's counts, and a cancel (SIGTERM) ends the command with exit 0.
func TestScheduleRunsJobInProcess(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	clock := schedule.NewFakeClock(time.Date(2026, 12, 4, 12, 0, 0, 0, tokyo))
	scheduleClock = clock
	t.Cleanup(func() { scheduleClock = schedule.RealClock{} })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- runMain(ctx, []string{"schedule", "--job", filepath.Join(dir, "job.yaml"), "--cron", "0 2 * * *", "--tz", "Asia/Tokyo"}, &out, &errb)
	}()
	tick := time.Date(2026, 12, 5, 2, 0, 0, 0, tokyo)
	stop := make(chan struct{})
	time.AfterFunc(20*time.Second, func() { close(stop) })
	if !clock.WaitForTimer(tick, stop) {
		cancel()
		t.Fatalf("the scheduler never waited for %s; exit %d\n%s", tick, <-code, errb.String())
	}
	clock.Set(tick)

	hist := schedule.NewHistory(filepath.Join(dir, "state"))
	var es []schedule.Entry
	for deadline := time.Now().Add(60 * time.Second); len(es) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if es, err = hist.Read(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d\n%s", c, errb.String())
	}
	if len(es) != 1 {
		t.Fatalf("history: %+v\n%s", es, errb.String())
	}
	e := es[0]
	if !e.Scheduled.Equal(tick) || e.Outcome != schedule.OutcomeSuccess ||
		e.Counts != (schedule.Counts{Read: 3, Written: 2, DeadLetters: 1}) || !strings.Contains(string(e.Summary), `"job":"people"`) {
		t.Errorf("history entry: %+v", e)
	}
	contains(t, "log", errb.String(), "scheduler started", "run finished", "scheduler stopped")
}

// TestScheduleCursorSavedOnlyOnSuccess: scheduled runs of an incremental
// postgres job; a failed run is recorded as failed and leaves cursor.json
// as it was, and the next successful run moves it.
func TestScheduleCursorSavedOnlyOnSuccess(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL DEFAULT '2026-01-01T00:00:00Z',
		updated_at timestamptz NOT NULL)`,
		`INSERT INTO orders (id, updated_at) SELECT i, now() - (10 - i) * interval '1 hour' FROM generate_series(1, 3) i`)
	t.Setenv("SHOP_DSN", dsn)
	dir := writeFiles(t, map[string]string{
		"job.yaml":    strings.Replace(schedulePGJob, "cursor: {column: updated_at}", "cursor: {column: updated_at}\nerrors: {policy: fail}", 1),
		"orders.yaml": "view: orders\nsource: orders\nkey: [id]\nfields:\n  id: id\n  note: parse_time(note)\n",
	})
	clock := schedule.NewFakeClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	scheduleClock = clock
	t.Cleanup(func() { scheduleClock = schedule.RealClock{} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- runMain(ctx, []string{"schedule", "--job", filepath.Join(dir, "job.yaml"), "--cron", "0 * * * *"}, &out, &errb)
	}()
	hist := schedule.NewHistory(filepath.Join(dir, "state"))
	cursorFile := filepath.Join(dir, "state", "cursor.json")
	tick := time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)
	runTick := func(n int) schedule.Entry {
		t.Helper()
		stop := make(chan struct{})
		timer := time.AfterFunc(20*time.Second, func() { close(stop) })
		defer timer.Stop()
		if !clock.WaitForTimer(tick, stop) {
			t.Fatalf("the scheduler never waited for %s\n%s", tick, errb.String())
		}
		clock.Set(tick)
		tick = tick.Add(time.Hour)
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			es, err := hist.Read()
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == n {
				return es[n-1]
			}
		}
		t.Fatalf("no history entry %d\n%s", n, errb.String())
		return schedule.Entry{}
	}
	readCursor := func() string {
		b, err := os.ReadFile(cursorFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if e := runTick(1); e.Outcome != schedule.OutcomeSuccess || e.Counts.Read != 3 {
		t.Fatalf("first run: %+v", e)
	}
	saved := readCursor()
	testenv.ExecAllPostgres(t, dsn, `UPDATE orders SET note = 'boom', updated_at = now() WHERE id = 3`)
	if e := runTick(2); e.Outcome != schedule.OutcomeFailed || !strings.Contains(e.Error, "boom") {
		t.Fatalf("run with a bad row: %+v", e)
	}
	if got := readCursor(); got != saved {
		t.Fatalf("a failed run moved the cursor:\nbefore %s\nafter  %s", saved, got)
	}
	testenv.ExecAllPostgres(t, dsn, `UPDATE orders SET note = DEFAULT, updated_at = now() WHERE id = 3`)
	if e := runTick(3); e.Outcome != schedule.OutcomeSuccess || e.Counts.Read != 1 {
		t.Fatalf("run after the fix: %+v", e.Counts)
	}
	if got := readCursor(); got == saved {
		t.Fatal("a successful run did not move the cursor")
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d\n%s", c, errb.String())
	}
}
