package main

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/schedule"
)

// printSchedule writes what an external scheduler needs to launch the job
// at the cron's ticks.
func printSchedule(w io.Writer, o scheduleOpts, j *pipelines.Job, cr *schedule.Cron) error {
	switch o.print {
	case "cron":
		return printCrontab(w, o, j, cr)
	case "cloud-scheduler":
		return printCloudScheduler(w, o, j, cr)
	case "kubernetes":
		return printCronJob(w, o, j, cr)
	}
	return fmt.Errorf("--print %q: use cron, cloud-scheduler or kubernetes", o.print)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// printCrontab writes a crontab entry: CRON_TZ (cronie, systemd-cron) for
// the zone, flock -n so that runs never overlap, runner run for the job.
func printCrontab(w io.Writer, o scheduleOpts, j *pipelines.Job, cr *schedule.Cron) error {
	job, state := absPath(j.File), absPath(j.StatePath())
	fmt.Fprintf(w, "# beamsync job %s: %s in %s.\n", j.Name, cr, cr.Location())
	fmt.Fprintln(w, "# flock -n skips a run while the previous one still holds the lock; cron does not")
	fmt.Fprintln(w, "# catch up on runs missed while the machine was down (use anacron or runner schedule).")
	if j.Source.DSNEnv != "" {
		fmt.Fprintf(w, "# The connection string must be in $%s (e.g. from a file sourced before the command).\n", j.Source.DSNEnv)
	}
	fmt.Fprintf(w, "CRON_TZ=%s\n", cr.Location())
	fmt.Fprintf(w, "%s flock -n %s %s run --job %s --progress log --log-format json >> %s 2>&1\n",
		cr, shellQuote(filepath.Join(state, "run.lock")), shellQuote(o.bin), shellQuote(job),
		shellQuote(filepath.Join(state, "cron.log")))
	return nil
}

// printCloudScheduler writes the gcloud command that creates a Cloud
// Scheduler job launching the classic Dataflow template that
// `runner submit --template` staged.
func printCloudScheduler(w io.Writer, o scheduleOpts, j *pipelines.Job, cr *schedule.Cron) error {
	name := "beamsync-" + dnsName(j.Name)
	uri := fmt.Sprintf("https://dataflow.googleapis.com/v1b3/projects/%s/locations/%s/templates:launch?gcsPath=%s",
		o.project, o.region, o.template)
	fmt.Fprintf(w, "# beamsync job %s: %s in %s, on Dataflow.\n", j.Name, cr, cr.Location())
	fmt.Fprintln(w, "# Stage the template first (and again after every change of the job or its mappings):")
	fmt.Fprintf(w, "#   runner submit --job %s --project %s --region %s --template %s\n",
		shellQuote(j.File), shellQuote(o.project), shellQuote(o.region), shellQuote(o.template))
	fmt.Fprintln(w, "# Dataflow refuses a second active job of the same name, so runs never overlap.")
	fmt.Fprintf(w, "gcloud scheduler jobs create http %s \\\n", name)
	fmt.Fprintf(w, "  --project=%s \\\n", shellQuote(o.project))
	fmt.Fprintf(w, "  --location=%s \\\n", shellQuote(o.region))
	fmt.Fprintf(w, "  --schedule=%s \\\n", shellQuote(cr.String()))
	fmt.Fprintf(w, "  --time-zone=%s \\\n", shellQuote(cr.Location().String()))
	fmt.Fprintln(w, "  --http-method=POST \\")
	fmt.Fprintf(w, "  --uri=%s \\\n", shellQuote(uri))
	fmt.Fprintln(w, "  --headers=Content-Type=application/json \\")
	fmt.Fprintf(w, "  --message-body=%s \\\n", shellQuote(fmt.Sprintf(`{"jobName": %q}`, name)))
	fmt.Fprintf(w, "  --oauth-service-account-email=%s \\\n", shellQuote(o.serviceAccount))
	fmt.Fprintln(w, "  --oauth-token-scope=https://www.googleapis.com/auth/cloud-platform")
	return nil
}

// printCronJob writes a Kubernetes CronJob: concurrencyPolicy Forbid (no
// overlap), startingDeadlineSeconds (one catch-up run for missed
// schedules), the state directory on a persistent volume (run history,
// cursor watermarks) and the connection string from a Secret.
func printCronJob(w io.Writer, o scheduleOpts, j *pipelines.Job, cr *schedule.Cron) error {
	name := "beamsync-" + dnsName(j.Name)
	fmt.Fprintf(w, "# beamsync job %s: %s in %s.\n", j.Name, cr, cr.Location())
	fmt.Fprintf(w, "# The image must hold the runner and %s (with its mappings) at the same path.\n", j.File)
	fmt.Fprintln(w, "apiVersion: batch/v1")
	fmt.Fprintln(w, "kind: CronJob")
	fmt.Fprintln(w, "metadata:")
	fmt.Fprintf(w, "  name: %s\n", name)
	fmt.Fprintln(w, "spec:")
	fmt.Fprintf(w, "  schedule: %q\n", cr.String())
	fmt.Fprintf(w, "  timeZone: %q\n", cr.Location().String())
	fmt.Fprintln(w, "  concurrencyPolicy: Forbid")
	fmt.Fprintln(w, "  startingDeadlineSeconds: 86400")
	fmt.Fprintln(w, "  successfulJobsHistoryLimit: 3")
	fmt.Fprintln(w, "  failedJobsHistoryLimit: 5")
	fmt.Fprintln(w, "  jobTemplate:")
	fmt.Fprintln(w, "    spec:")
	fmt.Fprintln(w, "      backoffLimit: 0")
	fmt.Fprintln(w, "      template:")
	fmt.Fprintln(w, "        spec:")
	fmt.Fprintln(w, "          restartPolicy: Never")
	fmt.Fprintln(w, "          containers:")
	fmt.Fprintln(w, "            - name: runner")
	fmt.Fprintf(w, "              image: %q\n", o.image)
	fmt.Fprintf(w, "              args: [\"run\", \"--job\", %q, \"--progress\", \"log\", \"--log-format\", \"json\"]\n", j.File)
	if j.Source.DSNEnv != "" {
		fmt.Fprintln(w, "              env:")
		fmt.Fprintf(w, "                - name: %s\n", j.Source.DSNEnv)
		fmt.Fprintf(w, "                  valueFrom: {secretKeyRef: {name: %s, key: %s}}\n", name, j.Source.DSNEnv)
	}
	fmt.Fprintln(w, "              volumeMounts:")
	fmt.Fprintf(w, "                - {name: state, mountPath: %q}\n", j.StatePath())
	fmt.Fprintln(w, "          volumes:")
	fmt.Fprintf(w, "            - name: state\n              persistentVolumeClaim: {claimName: %s-state}\n", name)
	return nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes a job name fit a Kubernetes or Cloud Scheduler name.
func dnsName(s string) string {
	return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
