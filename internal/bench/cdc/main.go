// Command cdc is beamsync's change-capture benchmark (make bench). On a
// throwaway PostgreSQL database with a 10,000-row table it measures, in one
// run, for
//
//	(a) a plain-Go baseline: a pglogrepl/pgoutput loop writing JSON lines
//	(b) beamsync: run --mode stream (prism) into a file view
//
// the rate at which each drains a backlog of 100,000 single-row updates
// committed in transactions of 100, and the commit → written latency (p50,
// p99) at a steady 5,000 changes/s. Both are measured the same way: the
// writer notes, after each COMMIT, the WAL insert position and the time; a
// transaction counts as written when the consumer has reported a position
// at or past it — the baseline once its JSON lines are written, beamsync
// once the checkpoint is acknowledged (every sink wrote, the checkpoint
// file saved).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/beamsync/beamsync/internal/bench/benchenv"
	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("BEAMSYNC_TEST_PG_DSN"), "PostgreSQL admin DSN")
	updates := flag.Int("updates", 100_000, "updates in the backlog")
	txn := flag.Int("txn", 100, "updates per transaction")
	rate := flag.Int("rate", 5000, "changes/s of the latency phase")
	seconds := flag.Int("seconds", 10, "length of the latency phase")
	repeat := flag.Int("repeat", 3, "trials of each consumer, interleaved; the medians are reported")
	work := flag.String("work", "out/bench-cdc", "work directory")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole benchmark to `FILE`")
	flag.Parse()
	if err := benchenv.CheckAdminDSN(*dsn); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*dsn, *work, *updates, *txn, *rate, *seconds, max(1, *repeat)); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const tableRows = 10_000

type result struct {
	name     string
	drain    time.Duration
	changes  int
	lat      []time.Duration
	overhead time.Duration
}

func run(adminDSN, work string, updates, txn, rate, seconds, repeat int) error {
	ctx := context.Background()
	dsn, drop, err := makeDB(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer drop()
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	w, err := newWriter(ctx, dsn, txn)
	if err != nil {
		return err
	}
	defer w.close()

	// The consumers take turns, so that both see the machine in the same
	// moods; each line reports the medians of its trials.
	var bases, beams []result
	for range repeat {
		base, err := runBaseline(ctx, dsn, work, w, updates, rate, seconds)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		bases = append(bases, base)
		beam, err := runBeamsync(ctx, dsn, work, w, updates, rate, seconds)
		if err != nil {
			return fmt.Errorf("beamsync: %w", err)
		}
		beams = append(beams, beam)
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "PostgreSQL CDC, %d updates in transactions of %d, median of %d\tdrain changes/s\tvs baseline\tp50 @%d/s\tp99 @%d/s\t\n", updates, txn, repeat, rate, rate)
	baseRate := median(bases, result.rate)
	for _, rs := range [][]result{bases, beams} {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2fx\t%.1f ms\t%.1f ms\t\n", rs[0].name, median(rs, result.rate), median(rs, result.rate)/baseRate,
			median(rs, func(r result) float64 { return ms(pct(r.lat, 50)) }), median(rs, func(r result) float64 { return ms(pct(r.lat, 99)) }))
	}
	tw.Flush()
	for i := range bases {
		fmt.Printf("trial %d: drain (a) %.0f, (b) %.0f changes/s (%.2fx)\n", i+1, bases[i].rate(), beams[i].rate(), beams[i].rate()/bases[i].rate())
	}
	fmt.Printf("(drain rates count from the stream's start: START_REPLICATION for (a), the source opening its stream inside the pipeline for (b);\n"+
		" (b)'s pipeline took a further %.1f s to build and start on prism before that)\n", median(beams, func(r result) float64 { return r.overhead.Seconds() }))
	return nil
}

func (r result) rate() float64 { return float64(r.changes) / r.drain.Seconds() }

// median returns the median of f over rs (the mean of the middle two for an
// even count).
func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func makeDB(ctx context.Context, adminDSN string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to %s: %w (start the test servers: scripts/testenv.sh start)", adminDSN, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("bench_cdc_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	dsn := strings.Replace(adminDSN, "/postgres?", "/"+name+"?", 1)
	drop := func() {
		c, err := pgx.Connect(context.Background(), adminDSN)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1", name)
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	c2, err := pgx.Connect(ctx, dsn)
	if err != nil {
		drop()
		return "", nil, err
	}
	defer c2.Close(ctx)
	_, err = c2.Exec(ctx, fmt.Sprintf(`
CREATE TABLE items (id int PRIMARY KEY, v bigint NOT NULL, note text NOT NULL, updated_at timestamptz NOT NULL);
INSERT INTO items SELECT g, 0, md5(g::text), now() FROM generate_series(1, %d) g;
ALTER TABLE items REPLICA IDENTITY FULL;
CREATE PUBLICATION bench_base FOR TABLE items;`, tableRows))
	if err != nil {
		drop()
		return "", nil, err
	}
	return dsn, drop, nil
}

// writer commits transactions of single-row updates and notes, for each,
// the WAL insert position right after its COMMIT and the time.
type writer struct {
	conn *pgx.Conn
	txn  int
	next int
	mu   sync.Mutex
	log  []commitMark
}

type commitMark struct {
	lsn pglogrepl.LSN
	at  time.Time
}

func newWriter(ctx context.Context, dsn string, txn int) (*writer, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	// The test server runs with synchronous_commit off; a commit that is
	// not flushed reaches logical decoding only with the WAL writer's next
	// round (200 ms), which would hide what the consumers add.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		return nil, err
	}
	return &writer{conn: conn, txn: txn}, nil
}

func (w *writer) close() { w.conn.Close(context.Background()) }

// commit runs one transaction; mark records its position for latency.
func (w *writer) commit(ctx context.Context, mark bool) error {
	var b strings.Builder
	b.WriteString("BEGIN;")
	for range w.txn {
		w.next++
		fmt.Fprintf(&b, "UPDATE items SET v = v + 1, updated_at = now() WHERE id = %d;", 1+w.next%tableRows)
	}
	b.WriteString("COMMIT;")
	if _, err := w.conn.Exec(ctx, b.String()); err != nil {
		return err
	}
	if !mark {
		return nil
	}
	at := time.Now()
	var lsn pglogrepl.LSN
	if err := w.conn.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()").Scan(&lsn); err != nil {
		return err
	}
	w.mu.Lock()
	w.log = append(w.log, commitMark{lsn, at})
	w.mu.Unlock()
	return nil
}

// backlog commits n updates as fast as it can and returns the position
// after them.
func (w *writer) backlog(ctx context.Context, n int) (pglogrepl.LSN, error) {
	for i := 0; i < n; i += w.txn {
		if err := w.commit(ctx, false); err != nil {
			return 0, err
		}
	}
	var lsn pglogrepl.LSN
	err := w.conn.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()").Scan(&lsn)
	return lsn, err
}

// steady commits at rate changes/s for the given time, marking each
// transaction, and returns the marks.
func (w *writer) steady(ctx context.Context, rate, seconds int) ([]commitMark, error) {
	w.mu.Lock()
	w.log = nil
	w.mu.Unlock()
	every := time.Duration(float64(time.Second) * float64(w.txn) / float64(rate))
	start := time.Now()
	for i := 0; time.Since(start) < time.Duration(seconds)*time.Second; i++ {
		if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		if err := w.commit(ctx, true); err != nil {
			return nil, err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log), nil
}

// progress is what a consumer has written: positions and when.
type progress struct {
	mu    sync.Mutex
	marks []commitMark
}

func (p *progress) add(lsn pglogrepl.LSN) {
	p.mu.Lock()
	if n := len(p.marks); n == 0 || p.marks[n-1].lsn < lsn {
		p.marks = append(p.marks, commitMark{lsn, time.Now()})
	}
	p.mu.Unlock()
}

func (p *progress) reached(lsn pglogrepl.LSN) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.marks)
	return n > 0 && p.marks[n-1].lsn >= lsn
}

// wait blocks until the consumer reached lsn.
func (p *progress) wait(lsn pglogrepl.LSN, limit time.Duration, failed func() error) error {
	deadline := time.Now().Add(limit)
	for !p.reached(lsn) {
		if err := failed(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("position %s not reached within %v", lsn, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// latencies matches each commit to the first written position at or past it.
func (p *progress) latencies(commits []commitMark) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	for _, c := range commits {
		i, _ := slices.BinarySearchFunc(p.marks, c.lsn, func(m commitMark, l pglogrepl.LSN) int {
			switch {
			case m.lsn < l:
				return -1
			case m.lsn > l:
				return 1
			}
			return 0
		})
		if i < len(p.marks) {
			out = append(out, max(0, p.marks[i].at.Sub(c.at)))
		}
	}
	return out
}

// measure drives a consumer through both phases: the backlog (start is
// called once it is committed; the drain time counts from opened, which
// start returns) and the steady rate.
func measure(ctx context.Context, w *writer, p *progress, updates, rate, seconds int, start func() (opened time.Time, err error), failed func() error) (drain time.Duration, lat []time.Duration, err error) {
	end, err := w.backlog(ctx, updates)
	if err != nil {
		return 0, nil, err
	}
	// No writeback left from an earlier trial (or benchmark) competes
	// with this one for the disk.
	syscall.Sync()
	opened, err := start()
	if err != nil {
		return 0, nil, err
	}
	if err := p.wait(end, 5*time.Minute, failed); err != nil {
		return 0, nil, err
	}
	drain = time.Since(opened)
	commits, err := w.steady(ctx, rate, seconds)
	if err != nil {
		return 0, nil, err
	}
	if err := p.wait(commits[len(commits)-1].lsn, time.Minute, failed); err != nil {
		return 0, nil, err
	}
	return drain, p.latencies(commits), nil
}

// runBaseline is the plain loop: pglogrepl → pgoutput → one JSON line per
// change, written (to the OS) at each commit.
func runBaseline(ctx context.Context, dsn, work string, w *writer, updates, rate, seconds int) (result, error) {
	r := result{name: "(a) plain Go: pglogrepl -> JSON lines", changes: updates}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return r, err
	}
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer conn.Close(context.Background())
	// Temporary: the slot goes with the connection, and the next trial
	// creates it again at the WAL's end.
	if _, err := pglogrepl.CreateReplicationSlot(ctx, conn, "bench_base", "pgoutput", pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication}); err != nil {
		return r, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return r, err
	}
	f, err := os.Create(filepath.Join(work, "baseline.jsonl"))
	if err != nil {
		return r, err
	}
	defer f.Close()
	p := &progress{}
	stop := make(chan struct{})
	var loopErr error
	var loopDone sync.WaitGroup
	var loopErrMu sync.Mutex
	failed := func() error { loopErrMu.Lock(); defer loopErrMu.Unlock(); return loopErr }
	r.drain, r.lat, err = measure(ctx, w, p, updates, rate, seconds, func() (time.Time, error) {
		opened := time.Now()
		if err := pglogrepl.StartReplication(ctx, conn, "bench_base", 0, pglogrepl.StartReplicationOptions{
			PluginArgs: []string{"proto_version '1'", "publication_names 'bench_base'"}}); err != nil {
			return opened, err
		}
		loopDone.Add(1)
		go func() {
			defer loopDone.Done()
			if err := baselineLoop(conn, bufio.NewWriterSize(f, 64<<10), p, stop); err != nil {
				loopErrMu.Lock()
				loopErr = err
				loopErrMu.Unlock()
			}
		}()
		return opened, nil
	}, failed)
	close(stop)
	loopDone.Wait()
	return r, err
}

func baselineLoop(conn *pgconn.PgConn, out *bufio.Writer, p *progress, stop chan struct{}) error {
	rels := map[uint32]*pglogrepl.RelationMessage{}
	var acked pglogrepl.LSN
	lastStatus := time.Now()
	line := make([]byte, 0, 256)
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if time.Since(lastStatus) > 5*time.Second {
			if err := pglogrepl.SendStandbyStatusUpdate(context.Background(), conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: acked}); err != nil {
				return err
			}
			lastStatus = time.Now()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		msg, err := conn.ReceiveMessage(ctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) {
				continue
			}
			return err
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok {
			if er, ok := msg.(*pgproto3.ErrorResponse); ok {
				return pgconn.ErrorResponseToPgError(er)
			}
			continue
		}
		if cd.Data[0] != pglogrepl.XLogDataByteID {
			continue
		}
		xld, err := pglogrepl.ParseXLogData(cd.Data[1:])
		if err != nil {
			return err
		}
		m, err := pglogrepl.Parse(xld.WALData)
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *pglogrepl.RelationMessage:
			rels[m.RelationID] = m
		case *pglogrepl.UpdateMessage:
			rel := rels[m.RelationID]
			line = append(line[:0], '{')
			for i, c := range m.NewTuple.Columns {
				if i > 0 {
					line = append(line, ',')
				}
				line = strconv.AppendQuote(line, rel.Columns[i].Name)
				line = append(line, ':')
				if c.DataType == 't' {
					line = strconv.AppendQuote(line, string(c.Data))
				} else {
					line = append(line, "null"...)
				}
			}
			line = append(line, '}', '\n')
			if _, err := out.Write(line); err != nil {
				return err
			}
		case *pglogrepl.CommitMessage:
			if err := out.Flush(); err != nil {
				return err
			}
			acked = m.TransactionEndLSN
			p.add(m.TransactionEndLSN)
		}
	}
}

// runBeamsync runs the stream pipeline in this process, as run --mode
// stream does, and watches its acknowledged checkpoint.
func runBeamsync(ctx context.Context, dsn, work string, w *writer, updates, rate, seconds int) (result, error) {
	r := result{name: "(b) beamsync: stream -> file view", changes: updates}
	dir := filepath.Join(work, "beamsync")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	files := map[string]string{
		"items.yaml": "view: items\nsource: items\nkey: [id]\nall_columns: true\n",
		"job.yaml": `name: bench-cdc
source:
  kind: postgres
  dsn_env: BENCH_CDC_DSN
  tables: [items]
  stream: {slot: bench_beamsync, publication: bench_beamsync, status_interval: 1s}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return r, err
		}
	}
	os.Setenv("BENCH_CDC_DSN", dsn)
	j, err := pipelines.Load(filepath.Join(dir, "job.yaml"))
	if err != nil {
		return r, err
	}
	plan, err := pipelines.Prepare(ctx, j)
	if err != nil {
		return r, err
	}

	// The first trial takes the snapshot (the view starts full), then
	// stops. A later trial starts, like the first, at the end of the WAL
	// (the slot would otherwise hold the changes of the trials between):
	// a new slot, no snapshot, stopped once it acknowledged a keepalive.
	cp, err := pipelines.LoadCheckpoint(j)
	if err != nil {
		return r, err
	}
	snapshot := pipelines.SnapshotInitial
	if cp != nil {
		if err := dropSlot(ctx, dsn, "bench_beamsync"); err != nil {
			return r, err
		}
		if err := os.Remove(j.CheckpointFile()); err != nil {
			return r, err
		}
		snapshot = pipelines.SnapshotNever
	}
	if err := streamUntil(plan, snapshot, func(ls *transforms.LiveStream) bool { return ls.Acked() != "" }); err != nil {
		return r, err
	}

	p := &progress{}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var runErr error
	done := make(chan struct{})
	opened := make(chan time.Time, 1)
	begun, openedAt := time.Now(), time.Time{}
	r.drain, r.lat, err = measure(ctx, w, p, updates, rate, seconds, func() (time.Time, error) {
		begun = time.Now()
		go func() {
			defer close(done)
			_, runErr = pipelines.RunStream(runCtx, plan, pipelines.StreamOptions{Started: func(ls *transforms.LiveStream) {
				go func() {
					for ls.Opened().IsZero() {
						time.Sleep(time.Millisecond)
					}
					opened <- ls.Opened()
					watchAcks(runCtx, ls, p)
				}()
			}})
		}()
		select {
		case t := <-opened:
			openedAt = t
			return t, nil
		case <-done:
			return time.Time{}, fmt.Errorf("the stream ended before it opened: %v", runErr)
		}
	}, func() error {
		select {
		case <-done:
			return fmt.Errorf("the stream ended: %v", runErr)
		default:
			return nil
		}
	})
	cancel()
	<-done
	if err == nil && runErr != nil && !errors.Is(runErr, context.Canceled) {
		err = runErr
	}
	r.overhead = openedAt.Sub(begun)
	return r, err
}

// watchAcks records every acknowledged checkpoint, as it happens.
func watchAcks(ctx context.Context, ls *transforms.LiveStream, p *progress) {
	for ctx.Err() == nil {
		if lsn, err := pglogrepl.ParseLSN(string(ls.Acked())); err == nil {
			p.add(lsn)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// streamUntil runs the stream until cond holds, then stops it.
func streamUntil(plan *pipelines.Plan, snapshot string, cond func(*transforms.LiveStream) bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if ls := transforms.Live(plan.Job.Name); ls != nil && cond(ls) {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := pipelines.RunStream(ctx, plan, pipelines.StreamOptions{Snapshot: snapshot})
	return err
}

// dropSlot drops a replication slot, waiting (up to 30 s) for the
// connection of a stream that just closed to let go of it.
func dropSlot(ctx context.Context, dsn, slot string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := conn.Exec(ctx, "SELECT pg_catalog.pg_drop_replication_slot($1)", slot)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
