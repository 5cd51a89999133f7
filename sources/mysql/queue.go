package mysql

import "sync"

// task is one unit of work of a reader: a boundary scan of a table (which
// queues the table's chunks as it finds their bounds) or a chunk to read.
type task struct {
	scan  *tablePlan // boundary scan of this table, or
	chunk chunk      // this chunk
}

// queue is the work queue all readers of a snapshot share, across tables.
// Tasks are served in order; a reader waits while the queue is empty but
// scans are still running (they may queue more chunks).
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	tasks   []task
	head    int
	pending int // tasks queued or running
	closed  bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond.L = &q.mu
	return q
}

// push queues a task.
func (q *queue) push(t task) {
	q.mu.Lock()
	q.tasks = append(q.tasks, t)
	q.pending++
	q.mu.Unlock()
	q.cond.Signal()
}

// next returns the next task, waiting while other tasks may still queue
// more; false when all work is done or the queue was closed.
func (q *queue) next() (task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.tasks) && q.pending > 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed || q.head == len(q.tasks) {
		return task{}, false
	}
	t := q.tasks[q.head]
	q.tasks[q.head] = task{}
	q.head++
	return t, true
}

// done marks a task returned by next as finished.
func (q *queue) done() {
	q.mu.Lock()
	q.pending--
	last := q.pending == 0
	q.mu.Unlock()
	if last {
		q.cond.Broadcast()
	}
}

// close stops the queue: next returns false from now on.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
