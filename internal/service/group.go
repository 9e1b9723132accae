package service

import (
	"context"
	"sync"
	"time"
)

// Group commit (issue 9): concurrent commands of one kind and one program
// are coalesced into batches, each run as one database transaction. A
// command goes at once when no batch of its lane is in flight, so a
// command alone waits for nothing; while one is in flight, commands queue
// and go together when it ends, when the queue reaches the group's size,
// or after the window when fewer than groupParallel batches of the lane
// are in flight, whichever comes first. Past groupParallel the queue waits
// for a batch to end: under load a batch gathers what arrived while the
// ones before it committed, instead of many batches of one each; two in
// flight hide one's commit behind the other's work (docs/decisions.md).

// groupWindow is how long a queued command waits for its batch to go
// while the lane has room for another batch in flight.
const groupWindow = time.Millisecond

// groupParallel bounds the batches of one lane in flight at once before
// the size is reached.
const groupParallel = 2

// group batches calls of input type I answered by outcomes of type O, per
// lane (a program). run answers a batch with one outcome per input, in
// order; it must not fail as a whole (a fault of the whole batch is each
// input's outcome).
type group[I, O any] struct {
	window time.Duration
	size   int
	run    func(ctx context.Context, lane string, in []I) []O

	mu    sync.Mutex
	lanes map[string]*lane[I, O]
}

// lane is one program's queue and how many of its batches are in flight.
type lane[I, O any] struct {
	queue    []*groupCall[I, O]
	inFlight int
	timer    *time.Timer
}

// groupCall is one caller's input, and its outcome once done is closed
// (or what its batch panicked with).
type groupCall[I, O any] struct {
	ctx      context.Context
	in       I
	out      O
	panicked any
	done     chan struct{}
}

// newGroup returns a group of batches of at most size inputs.
func newGroup[I, O any](size int, run func(context.Context, string, []I) []O) *group[I, O] {
	return &group[I, O]{window: groupWindow, size: size, run: run, lanes: map[string]*lane[I, O]{}}
}

// do runs in with the batch it joins and returns its outcome. When ctx
// ends first, do returns ctx's error; the command may still be applied
// by its batch (it is idempotent by its key: a retry answers as it did).
func (g *group[I, O]) do(ctx context.Context, laneKey string, in I) (O, error) {
	c := &groupCall[I, O]{ctx: ctx, in: in, done: make(chan struct{})}
	g.mu.Lock()
	l := g.lanes[laneKey]
	if l == nil {
		l = &lane[I, O]{}
		g.lanes[laneKey] = l
	}
	l.queue = append(l.queue, c)
	switch {
	case l.inFlight == 0 || len(l.queue) >= g.size:
		g.flushLocked(laneKey, l)
	case l.timer == nil && l.inFlight < groupParallel:
		l.timer = time.AfterFunc(g.window, func() { g.flush(laneKey, l) })
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		if c.panicked != nil {
			panic(c.panicked) // in the caller, where the server recovers it
		}
		return c.out, nil
	case <-ctx.Done():
		var zero O
		return zero, ctx.Err()
	}
}

// flush starts a batch of l's queue, if any (the window's timer).
func (g *group[I, O]) flush(laneKey string, l *lane[I, O]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l.timer = nil
	if len(l.queue) > 0 && l.inFlight < groupParallel {
		g.flushLocked(laneKey, l)
	}
}

// flushLocked starts a batch of up to size calls from l's queue; g.mu is
// held.
func (g *group[I, O]) flushLocked(laneKey string, l *lane[I, O]) {
	n := min(len(l.queue), g.size)
	batch := l.queue[:n:n]
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
	}
	l.inFlight++
	go g.exec(laneKey, l, batch)
}

// exec runs one batch, answers its calls, and starts the next batch of
// the lane when commands queued meanwhile. The batch runs on the first
// caller's context without its cancellation: a caller that goes away
// does not abort the others' transaction. A panic of the batch is raised
// again in each of its callers.
func (g *group[I, O]) exec(laneKey string, l *lane[I, O], batch []*groupCall[I, O]) {
	defer g.finish(laneKey, l)
	out, panicked := g.runBatch(laneKey, batch)
	for i, c := range batch {
		if panicked != nil {
			c.panicked = panicked
		} else {
			c.out = out[i]
		}
		close(c.done)
	}
}

// runBatch runs batch, recovering a panic.
func (g *group[I, O]) runBatch(laneKey string, batch []*groupCall[I, O]) (out []O, panicked any) {
	defer func() { panicked = recover() }()
	in := make([]I, len(batch))
	for i, c := range batch {
		in[i] = c.in
	}
	return g.run(context.WithoutCancel(batch[0].ctx), laneKey, in), nil
}

// finish ends a batch of l: the next goes if commands queued meanwhile,
// and an idle lane is forgotten.
func (g *group[I, O]) finish(laneKey string, l *lane[I, O]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l.inFlight--
	switch {
	case len(l.queue) > 0:
		g.flushLocked(laneKey, l)
	case l.inFlight == 0 && g.lanes[laneKey] == l:
		delete(g.lanes, laneKey)
	}
}
