package bench

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// errorShareMax is the share of failed calls a load case tolerates before
// it is reported failed (a few resource_exhausted under overload are the
// server's documented answer; more means the figure is meaningless).
const errorShareMax = 0.01

// loadResult is what a closed-loop load case measured.
type loadResult struct {
	ok, failed int64
	firstErr   error
	elapsed    time.Duration
	latencies  []time.Duration // of the successful calls, sorted
	// quantiles are the latencies a client measured itself (wrk), by
	// quantile, when latencies is empty.
	quantiles map[float64]time.Duration
	items     int64  // units done (calls × items per call)
	client    string // the load client: LoadClientWrk or LoadClientGo
}

// perSecond is the rate of units done.
func (l loadResult) perSecond() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.items) / l.elapsed.Seconds()
}

// quantile is the q-th latency in milliseconds (0 < q ≤ 1).
func (l loadResult) quantile(q float64) float64 {
	if len(l.latencies) == 0 {
		return float64(l.quantiles[q]) / float64(time.Millisecond)
	}
	i := int(q*float64(len(l.latencies))+0.5) - 1
	i = min(max(i, 0), len(l.latencies)-1)
	return float64(l.latencies[i]) / float64(time.Millisecond)
}

// err is the case's failure, if its calls failed too often.
func (l loadResult) err() error {
	total := l.ok + l.failed
	switch {
	case l.firstErr != nil && (l.ok == 0 || float64(l.failed) > errorShareMax*float64(total)):
		return l.firstErr
	case l.ok == 0:
		return errors.New("no call succeeded")
	}
	return nil
}

// runLoad keeps conns callers busy for d: each calls call with a fresh
// sequence number as soon as its previous call returned. Every call is
// one request; perCall is the units (orders, clicks) each carries.
func runLoad(ctx context.Context, conns int, d time.Duration, perCall int, call func(ctx context.Context, seq int64) error) loadResult {
	var (
		seq  atomic.Int64
		mu   sync.Mutex
		res  loadResult
		wg   sync.WaitGroup
		lats = make([][]time.Duration, conns)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	deadline := start.Add(d)
	for w := range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := call(ctx, seq.Add(1))
				if err == nil {
					lats[w] = append(lats[w], time.Since(t0))
					continue
				}
				mu.Lock()
				res.failed++
				if res.firstErr == nil {
					res.firstErr = err
				}
				mu.Unlock()
				if errors.Is(err, errUnimplemented) {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	for _, l := range lats {
		res.latencies = append(res.latencies, l...)
	}
	slices.Sort(res.latencies)
	res.ok = int64(len(res.latencies))
	res.items = res.ok * int64(perCall)
	res.client = LoadClientGo
	return res
}

// singleLoad runs a single-call case at conns connections for the run's
// duration: with wrk posting req's bodies when the run has wrk, else with
// goCall on the Go client (runLoad).
func (r *run) singleLoad(ctx context.Context, conns int, req wrkRequest, run string, goCall func(ctx context.Context, seq int64) error) loadResult {
	if r.wrk == "" {
		return runLoad(ctx, conns, r.opts.Duration, 1, goCall)
	}
	res, err := runWrk(ctx, r.wrk, r.dir, r.api.baseURL, conns, r.opts.Duration, wrkScript(req, loadProgram, run, r.opts.Partners))
	if err != nil {
		return loadResult{firstErr: err, client: LoadClientWrk}
	}
	return res
}

// forEach runs fn(i) for i in [0, n) on conns workers and returns the
// first error; progress is called every few seconds with the count done.
func forEach(ctx context.Context, n, conns int, fn func(ctx context.Context, i int) error, progress func(done int)) error {
	var (
		next, done atomic.Int64
		errOnce    sync.Once
		first      error
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopTicker := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress(int(done.Load()))
			case <-stopTicker:
				return
			}
		}
	}()
	for range min(conns, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stopTicker)
	return first
}

// newHTTPClient is a pool of at most conns HTTP/1.1 connections, all kept
// open between calls, like a load client's.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, MaxIdleConns: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
}
