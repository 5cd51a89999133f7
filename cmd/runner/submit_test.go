package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	df "google.golang.org/api/dataflow/v1b3"
	"google.golang.org/protobuf/proto"

	"github.com/beamsync/beamsync/internal/testenv"
)

// submitJobFiles writes a job that Dataflow can run: a PostgreSQL source
// (a fresh test database), a dynamodb sink and errors.policy fail.
func submitJobFiles(t *testing.T) string {
	t.Helper()
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, "CREATE TABLE orders (id int PRIMARY KEY, total bigint NOT NULL)")
	t.Setenv("SUBMIT_TEST_DSN", dsn)
	dir := writeFiles(t, map[string]string{
		"job.yaml": `name: shop_orders
source: {kind: postgres, dsn_env: SUBMIT_TEST_DSN, tables: [public.orders]}
views: [orders.yaml]
sinks:
  - name: ddb
    kind: dynamodb
    dynamodb: {region: eu-west-1}
errors: {policy: fail}
`,
		"orders.yaml": "view: orders\nsource: public.orders\nkey: [id]\nfields:\n  id: id\n  total: total\n",
	})
	return filepath.Join(dir, "job.yaml")
}

// offlineGoogle keeps Google client libraries off the network: no
// credentials file, storage calls go to storageHost and the default
// credentials come from the metadata server at metadataHost.
func offlineGoogle(t *testing.T, storageHost, metadataHost string) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("STORAGE_EMULATOR_HOST", storageHost)
	t.Setenv("GCE_METADATA_HOST", metadataHost)
}

type dryRun struct {
	Job   df.Job   `json:"job"`
	Steps []string `json:"steps"`
}

func submitDryRun(t *testing.T, mode string) dryRun {
	t.Helper()
	// Beam checks the staging bucket's soft-delete policy even in a dry run
	// (a warning when it cannot): a fake GCS answers, and must stay empty.
	fk := newSubmitFakes(t)
	job := submitJobFiles(t)
	code, out, errOut := invoke(t, "submit", "--job", job, "--mode", mode, "--project", "proj-1", "--region", "europe-west1",
		"--staging", fk.staging("staging"), "--dry-run", "--machine-type", "n2-standard-4", "--num-workers", "2", "--max-workers", "7",
		"--service-account", "sync@proj-1.iam.gserviceaccount.com")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if staged := fk.gcs.names(t, ""); len(staged) != 0 || fk.dataflow.requests != 0 {
		t.Errorf("the dry run staged %v and made %d Dataflow calls", staged, fk.dataflow.requests)
	}
	var d dryRun
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("dry run output is not the job JSON: %v\n%s", err, out)
	}
	j := d.Job
	if j.ProjectId != "proj-1" || j.Name != "beamsync-shop-orders" {
		t.Errorf("project %q, name %q", j.ProjectId, j.Name)
	}
	if len(j.Environment.WorkerPools) != 1 {
		t.Fatalf("worker pools: %+v", j.Environment.WorkerPools)
	}
	wp := j.Environment.WorkerPools[0]
	if wp.MachineType != "n2-standard-4" || wp.NumWorkers != 2 || wp.AutoscalingSettings.MaxNumWorkers != 7 {
		t.Errorf("worker settings: machine %q, workers %d, max %d", wp.MachineType, wp.NumWorkers, wp.AutoscalingSettings.MaxNumWorkers)
	}
	if j.Environment.ServiceAccountEmail != "sync@proj-1.iam.gserviceaccount.com" {
		t.Errorf("service account %q", j.Environment.ServiceAccountEmail)
	}
	if !slices.Contains(j.Environment.Experiments, "use_runner_v2") {
		t.Errorf("experiments %v: no use_runner_v2", j.Environment.Experiments)
	}
	if j.Labels["beamsync-job"] != "shop-orders" || j.Labels["beamsync-mode"] != mode {
		t.Errorf("labels %v", j.Labels)
	}
	if strings.Contains(out, "postgres://") {
		t.Errorf("the dry run shows the DSN:\n%s", out)
	}
	for _, step := range []string{"Source", "Sink.ddb", "Sink.ddb/dynamodb.Write", "FailOnDeadLetter"} {
		if !slices.Contains(d.Steps, step) {
			t.Errorf("no step %q among %v", step, d.Steps)
		}
	}
	return d
}

func TestSubmitDryRunBatch(t *testing.T) {
	d := submitDryRun(t, "batch")
	if d.Job.Type != "JOB_TYPE_BATCH" {
		t.Errorf("type %q, want JOB_TYPE_BATCH", d.Job.Type)
	}
	if slices.Contains(d.Job.Environment.Experiments, "enable_streaming_engine") {
		t.Errorf("a batch job with streaming experiments: %v", d.Job.Environment.Experiments)
	}
}

func TestSubmitDryRunStream(t *testing.T) {
	d := submitDryRun(t, "stream")
	if d.Job.Type != "JOB_TYPE_STREAMING" {
		t.Errorf("type %q, want JOB_TYPE_STREAMING", d.Job.Type)
	}
	if !slices.Contains(d.Job.Environment.Experiments, "enable_streaming_engine") {
		t.Errorf("experiments %v: no enable_streaming_engine", d.Job.Environment.Experiments)
	}
}

func TestSubmitRefusesLocalFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n",
		"people.jsonl": peopleRows,
	})
	code, out, errOut := invoke(t, "submit", "--job", filepath.Join(dir, "job.yaml"), "--project", "p", "--region", "r",
		"--staging", "gs://b/s", "--dry-run")
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFail, out, errOut)
	}
	contains(t, "error", errOut, "cannot run on Dataflow", "source.files[0].path", "files source reads local files",
		"sinks[0].dir", "sink out is a file sink", "errors.policy", "errors.policy: fail")
}

func TestSubmitFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--job", "j.yaml"}, "--project, --region and --staging are required"},
		{[]string{"--job", "j.yaml", "--project", "p", "--region", "r", "--staging", "/tmp/x"}, "gs://"},
		{[]string{"--job", "j.yaml", "--project", "p", "--region", "r", "--staging", "gs://b", "--mode", "nightly"}, "not a mode"},
		{[]string{"--job", "j.yaml", "--project", "p", "--region", "r", "--staging", "gs://b", "--dry-run", "--template", "gs://b/t"}, "exclude each other"},
	} {
		code, _, errOut := invoke(t, append([]string{"submit"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, errOut)
		}
	}
}

// gcsServer is the test fake-gcs-server (scripts/testenv.sh starts it),
// read and written through the Cloud Storage JSON API. Each test stages
// into a bucket of its own.
type gcsServer struct {
	host   string // host:port
	bucket string
}

func newGCS(t *testing.T) *gcsServer {
	t.Helper()
	g := &gcsServer{host: testenv.GCSHost(), bucket: strings.ReplaceAll(testenv.UniqueName("bkt"), "_", "-")}
	body := fmt.Sprintf(`{"name": %q}`, g.bucket)
	resp, err := http.Post("http://"+g.host+"/storage/v1/b?project=proj-1", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("fake-gcs-server not reachable at %s: %v\nstart it with: scripts/testenv.sh start (make test does this)", g.host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("creating bucket %s: %s %s", g.bucket, resp.Status, b)
	}
	return g
}

// names lists the objects under prefix.
func (g *gcsServer) names(t *testing.T, prefix string) []string {
	t.Helper()
	resp, err := http.Get("http://" + g.host + "/storage/v1/b/" + g.bucket + "/o?prefix=" + url.QueryEscape(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("listing %s: %v", g.bucket, err)
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Name)
	}
	return out
}

// object returns the staged object under prefix whose name ends in suffix,
// as "bucket/name", and its content.
func (g *gcsServer) object(t *testing.T, prefix, suffix string) (string, []byte) {
	t.Helper()
	names := g.names(t, prefix)
	for _, name := range names {
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		resp, err := http.Get("http://" + g.host + "/storage/v1/b/" + g.bucket + "/o/" + url.PathEscape(name) + "?alt=media")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("downloading %s: %s %v", name, resp.Status, err)
		}
		return g.bucket + "/" + name, data
	}
	t.Fatalf("no object %s…%s staged in %s; staged: %v", prefix, suffix, g.bucket, names)
	return "", nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// fakeDataflow records jobs.create requests and answers jobs.get
// (https://cloud.google.com/dataflow/docs/reference/rest/v1b3/projects.locations.jobs).
type fakeDataflow struct {
	mu       sync.Mutex
	created  []*df.Job
	paths    []string
	requests int
}

func (f *fakeDataflow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	const prefix = "/v1b3/projects/proj-1/locations/europe-west1/jobs"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		var j df.Job
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.created = append(f.created, &j)
		f.paths = append(f.paths, r.URL.Path)
		resp := j
		resp.Id = fmt.Sprintf("2026-12-04_fake-%d", len(f.created))
		resp.CurrentState = "JOB_STATE_PENDING"
		writeJSON(w, &resp)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, prefix+"/2026-12-04_fake-"):
		id := strings.TrimPrefix(r.URL.Path, prefix+"/")
		writeJSON(w, &df.Job{Id: id, ProjectId: "proj-1", CurrentState: "JOB_STATE_QUEUED"})
	default:
		http.Error(w, `{"error":{"code":404,"message":"not found"}}`, http.StatusNotFound)
	}
}

// fakeMetadata is the GCE metadata server the default credentials ask for
// a token.
func fakeMetadata(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		switch {
		case strings.HasSuffix(r.URL.Path, "/service-accounts/default/token"):
			writeJSON(w, map[string]any{"access_token": "fake-token", "expires_in": 3600, "token_type": "Bearer"})
		case strings.HasSuffix(r.URL.Path, "/project/project-id"):
			fmt.Fprint(w, "proj-1")
		case strings.HasSuffix(r.URL.Path, "/universe/universe-domain"):
			fmt.Fprint(w, "googleapis.com")
		case r.URL.Path == "/" || r.URL.Path == "/computeMetadata/v1/":
			fmt.Fprint(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

type submitFakes struct {
	gcs      *gcsServer
	dataflow *fakeDataflow
	endpoint string
	worker   string
	workerSH string
}

// staging is the job's staging location in the test's bucket.
func (f *submitFakes) staging(path string) string { return "gs://" + f.gcs.bucket + "/" + path }

func newSubmitFakes(t *testing.T) *submitFakes {
	// The staging bucket exists: Beam creates a missing one only when the
	// storage client's not-found error is not wrapped, which it is in the
	// storage version this module uses.
	g := newGCS(t)
	f := &fakeDataflow{}
	dsrv := httptest.NewServer(f)
	t.Cleanup(dsrv.Close)
	md := fakeMetadata(t)
	offlineGoogle(t, g.host, strings.TrimPrefix(md.URL, "http://"))
	worker := filepath.Join(t.TempDir(), "worker")
	body := []byte("#!/bin/sh\n# a stand-in for the linux/amd64 runner binary\n")
	if err := os.WriteFile(worker, body, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	return &submitFakes{gcs: g, dataflow: f, endpoint: dsrv.URL + "/", worker: worker, workerSH: hex.EncodeToString(sum[:])}
}

func TestSubmitToLocalEndpoint(t *testing.T) {
	fk := newSubmitFakes(t)
	job := submitJobFiles(t)
	reportFile := filepath.Join(t.TempDir(), "submit.json")
	code, out, errOut := invoke(t, "submit", "--job", job, "--project", "proj-1", "--region", "europe-west1",
		"--staging", fk.staging("staging"), "--worker-binary", fk.worker, "--dataflow-endpoint", fk.endpoint,
		"--max-workers", "3", "--report", reportFile)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	contains(t, "output", out, "submitted to Dataflow as 2026-12-04_fake-1", "JOB_STATE_QUEUED")

	// The staged worker binary and pipeline model.
	workerName, worker := fk.gcs.object(t, "staging/", "/worker")
	if want, _ := os.ReadFile(fk.worker); string(worker) != string(want) {
		t.Errorf("staged worker differs from --worker-binary")
	}
	modelName, model := fk.gcs.object(t, "staging/", "/model")
	var p pipepb.Pipeline
	if err := proto.Unmarshal(model, &p); err != nil {
		t.Fatalf("staged model is not a pipeline proto: %v", err)
	}
	steps := stepNames(&p)
	for _, s := range []string{"Source", "Sink.ddb/dynamodb.Write", "FailOnDeadLetter"} {
		if !slices.Contains(steps, s) {
			t.Errorf("staged model has no step %q: %v", s, steps)
		}
	}
	if strings.Contains(string(model), "postgres://") {
		t.Error("the staged model holds the DSN")
	}

	// The job request.
	fk.dataflow.mu.Lock()
	defer fk.dataflow.mu.Unlock()
	if len(fk.dataflow.created) != 1 {
		t.Fatalf("%d jobs created, want 1", len(fk.dataflow.created))
	}
	j := fk.dataflow.created[0]
	if j.ProjectId != "proj-1" || j.Name != "beamsync-shop-orders" || j.Type != "JOB_TYPE_BATCH" {
		t.Errorf("job: project %q name %q type %q", j.ProjectId, j.Name, j.Type)
	}
	wp := j.Environment.WorkerPools[0]
	if len(wp.Packages) == 0 || wp.Packages[0].Location != "gs://"+workerName || wp.Packages[0].Sha256 != fk.workerSH {
		t.Errorf("worker package %+v, want gs://%s with sha256 %s", wp.Packages, workerName, fk.workerSH)
	}
	if wp.AutoscalingSettings.MaxNumWorkers != 3 {
		t.Errorf("max workers %d", wp.AutoscalingSettings.MaxNumWorkers)
	}
	var opts struct {
		Options struct {
			PipelineURL string `json:"pipelineUrl"`
			Region      string `json:"region"`
		} `json:"options"`
	}
	if err := json.Unmarshal(j.Environment.SdkPipelineOptions, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Options.PipelineURL != "gs://"+modelName || opts.Options.Region != "europe-west1" {
		t.Errorf("pipeline options %+v, want model gs://%s in europe-west1", opts.Options, modelName)
	}

	// The report: what is known once the job is submitted.
	var rep report
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "submit" || !rep.OK || rep.Job != "shop_orders" || rep.Mode != "batch" || rep.Dataflow == nil ||
		rep.Dataflow.JobID != "2026-12-04_fake-1" || rep.Dataflow.State != "JOB_STATE_QUEUED" ||
		rep.Dataflow.Project != "proj-1" || rep.Dataflow.Region != "europe-west1" || rep.Dataflow.JobName != "beamsync-shop-orders" {
		t.Errorf("report:\n%s", b)
	}
}

func TestSubmitTemplate(t *testing.T) {
	fk := newSubmitFakes(t)
	job := submitJobFiles(t)
	code, out, errOut := invoke(t, "submit", "--job", job, "--mode", "stream", "--project", "proj-1", "--region", "europe-west1",
		"--staging", fk.staging("staging"), "--worker-binary", fk.worker, "--dataflow-endpoint", fk.endpoint,
		"--template", fk.staging("templates/shop.json"))
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	contains(t, "output", out, "staged at "+fk.staging("templates/shop.json"))
	fk.gcs.object(t, "staging/", "/worker")
	_, model := fk.gcs.object(t, "staging/", "/model")
	// The stream acknowledges what Dataflow committed: its read's spec
	// travels as JSON in a base64 DoFn payload of the pipeline.
	if !strings.Contains(decodedPayloads(model), `"ack":"committed"`) {
		t.Errorf("the staged pipeline's stream read does not acknowledge committed positions")
	}
	_, tmpl := fk.gcs.object(t, "templates/", "shop.json")
	var j df.Job
	if err := json.Unmarshal(tmpl, &j); err != nil {
		t.Fatalf("template is not a job: %v\n%s", err, tmpl)
	}
	if j.Type != "JOB_TYPE_STREAMING" || j.Name != "beamsync-shop-orders" {
		t.Errorf("template job: type %q name %q", j.Type, j.Name)
	}
	if fk.dataflow.requests != 0 {
		t.Errorf("staging a template called Dataflow %d times", fk.dataflow.requests)
	}
}

func TestReportOfALocalRun(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	reportFile := filepath.Join(dir, "report.json")
	code, out, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"), "--progress", "off", "--report", reportFile)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "run" || rep.Job != "people" || rep.Mode != "batch" || rep.Runner != "direct" || !rep.OK || rep.Error != "" {
		t.Errorf("report head:\n%s", b)
	}
	if rep.Finished.Before(rep.Started) || rep.DurationMS <= 0 || rep.DeadLetters != 1 ||
		!strings.HasSuffix(rep.DeadLetterFile, "_dead_letters.jsonl") {
		t.Errorf("report totals:\n%s", b)
	}
	if len(rep.Views) != 1 {
		t.Fatalf("views:\n%s", b)
	}
	v := rep.Views[0]
	if v.View != "people" || v.Table != "people" || v.Read != 3 || v.Mapped != 2 || v.DeadLettered != 1 || v.DurationMS != rep.DurationMS {
		t.Errorf("view people: %+v", v)
	}
	if len(v.Sinks) != 1 {
		t.Fatalf("sinks: %+v", v.Sinks)
	}
	if s := v.Sinks[0]; s.Sink != "out" || s.Written != 2 || s.SkippedOlder != 0 || s.DeadLettered != 0 ||
		s.DurationMS != rep.DurationMS || !strings.HasSuffix(s.Where, "people.jsonl") {
		t.Errorf("sink out: %+v", s)
	}
	// The raw JSON uses the documented field names.
	contains(t, "report", string(b), `"read": 3`, `"written": 2`, `"skipped_older": 0`, `"dead_lettered": 1`, `"duration_ms"`)
}

func TestReportOfAFailedRun(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob + "errors: {policy: fail}\n",
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	reportFile := filepath.Join(dir, "report.json")
	code, _, errOut := invoke(t, "run", "--job", filepath.Join(dir, "job.yaml"), "--progress", "off", "--report", reportFile)
	if code != exitFail {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(rep.Error, "people.jsonl:2") {
		t.Errorf("report of a failed run:\n%s", b)
	}
}

func TestSubmitWorkerInvocationIsRecognised(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"--worker=true", "--id=1", "--control_endpoint=localhost:1"}, true},
		{[]string{"-worker", "--id=1"}, true},
		{[]string{"run", "--job", "worker"}, false},
		{[]string{"submit", "--job", "j.yaml"}, false},
		{nil, false},
	} {
		if got := workerInvocation(c.args); got != c.want {
			t.Errorf("workerInvocation(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// decodedPayloads returns the text of every base64 run of a staged
// pipeline (the Go SDK's DoFn payloads), decoded.
func decodedPayloads(model []byte) string {
	var out strings.Builder
	for _, run := range regexp.MustCompile(`[A-Za-z0-9+/]{64,}={0,2}`).FindAll(model, -1) {
		if b, err := base64.StdEncoding.DecodeString(string(run)); err == nil {
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	return out.String()
}
