package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
)

// Knobs of the worker.
const (
	// Interval is how often the worker publishes and sends.
	Interval = 250 * time.Millisecond
	// Lease is how long the delivery lease lasts without renewal; a
	// process that died is taken over after it. A step starts no attempt
	// after sendBudget, so its last ends by sendBudget + RequestTimeout,
	// well within the lease it renewed at its start.
	Lease      = time.Minute
	sendBudget = 20 * time.Second
	// RetryWindow is how long a delivery is retried before it is marked
	// failed: about a day, as Svix and Stripe do.
	RetryWindow = 24 * time.Hour
	// backoffBase and backoffMax shape the retry delays: base·2ⁿ, at
	// most max, each scaled by a random factor in [0.75, 1.25).
	backoffBase = 5 * time.Second
	backoffMax  = time.Hour
	// perEndpoint bounds the deliveries one endpoint gets per step (sent
	// one after the other, in order); endpointsMax the endpoints served
	// per step, parallelMax those sent to at once.
	perEndpoint  = 50
	endpointsMax = 200
	parallelMax  = 16
	// fanOutMax bounds the events queued per endpoint per step.
	fanOutMax = 1000
)

// Body renders the JSON body of an event's delivery (the server's
// rendering of the Event message).
type Body func(store.Event) ([]byte, error)

// Options configure a Worker.
type Options struct {
	// AllowPrivate lets endpoints on private and loopback addresses be
	// reached (--webhooks-allow-private; tests need loopback).
	AllowPrivate bool
	// Timeout bounds one attempt; 0 is RequestTimeout.
	Timeout time.Duration
	// Log records what the worker does.
	Log *slog.Logger
	// Observer, when set, is told of every attempt (metrics).
	Observer Observer
}

// Observer is told what the worker's deliveries do, for metrics.
type Observer interface {
	// Attempted reports one attempt's outcome: "ok", "error", "timeout"
	// or "refused" (a private address without AllowPrivate).
	Attempted(outcome string)
	// GaveUp reports a delivery marked failed after its last retry.
	GaveUp()
}

// noObserver is the Observer of a worker given none.
type noObserver struct{}

func (noObserver) Attempted(string) {}
func (noObserver) GaveUp()          {}

// Worker publishes the outbox and sends deliveries.
type Worker struct {
	svc     *service.Service
	body    Body
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
	observe Observer
	holder  string
	// failures counts deliveries this worker marked failed.
	failures atomic.Int64
	// more is set by a step that sent a full batch to some endpoint: Run
	// steps again at once instead of waiting for the tick.
	more atomic.Bool
}

// New returns a worker over svc rendering bodies with body.
func New(svc *service.Service, body Body, opts Options) *Worker {
	if opts.Timeout <= 0 {
		opts.Timeout = RequestTimeout
	}
	w := &Worker{svc: svc, body: body, client: NewClient(opts.AllowPrivate, opts.Timeout), timeout: opts.Timeout, log: opts.Log}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.observe = opts.Observer; w.observe == nil {
		w.observe = noObserver{}
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	w.holder = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	return w
}

// Failures counts the deliveries this worker marked failed since it
// started (for metrics; service.WebhookFailures counts them all).
func (w *Worker) Failures() int64 { return w.failures.Load() }

// Run steps every Interval until ctx ends, then gives the lease up.
// Errors are logged and retried at the next tick.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if _, err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("webhooks: step failed", "err", err)
		}
		if w.more.Load() && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = w.svc.ReleaseWebhookLease(rctx, w.holder)
			cancel()
			return
		case <-t.C:
		}
	}
}

// Step publishes the outbox and, when this worker holds the delivery
// lease, queues new deliveries and sends those due. It reports whether it
// held the lease.
func (w *Worker) Step(ctx context.Context) (bool, error) {
	w.more.Store(false)
	if _, err := w.svc.PublishEvents(ctx); err != nil {
		return false, err
	}
	held, err := w.svc.ClaimWebhookLease(ctx, w.holder, Lease)
	if err != nil || !held {
		return held, err
	}
	if _, err := w.svc.FanOutDeliveries(ctx, fanOutMax); err != nil {
		return true, err
	}
	due, endpoints, err := w.svc.DueDeliveries(ctx, perEndpoint, endpointsMax)
	if err != nil || len(due) == 0 {
		return true, err
	}
	return true, w.svc.RecordAttempts(ctx, w.send(ctx, due, endpoints))
}

// send sends each endpoint's due deliveries in order, endpoints in
// parallel, and returns the attempts made.
func (w *Worker) send(ctx context.Context, due []store.Delivery, endpoints map[string]store.Endpoint) []store.Attempt {
	byEndpoint := map[string][]store.Delivery{}
	for _, d := range due {
		byEndpoint[d.Endpoint] = append(byEndpoint[d.Endpoint], d)
	}
	var (
		mu       sync.Mutex
		attempts []store.Attempt
		wg       sync.WaitGroup
	)
	budget, cancel := context.WithTimeout(ctx, sendBudget)
	defer cancel()
	slots := make(chan struct{}, parallelMax)
	for id, ds := range byEndpoint {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			got := w.sendInOrder(ctx, budget, endpoints[id], ds)
			mu.Lock()
			attempts = append(attempts, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return attempts
}

// sendInOrder sends an endpoint's deliveries one after the other and
// stops after the first that did not succeed, so a later event never
// overtakes an earlier one, or once budget is spent.
func (w *Worker) sendInOrder(ctx, budget context.Context, e store.Endpoint, ds []store.Delivery) []store.Attempt {
	var out []store.Attempt
	for _, d := range ds {
		if budget.Err() != nil {
			break
		}
		a := w.attempt(ctx, e, d)
		out = append(out, a)
		if a.Status != store.DeliverySucceeded {
			return out
		}
	}
	if len(out) == perEndpoint {
		w.more.Store(true) // the endpoint may have more waiting
	}
	return out
}

// attempt makes one try of d and decides the delivery's next state.
func (w *Worker) attempt(ctx context.Context, e store.Endpoint, d store.Delivery) store.Attempt {
	now := w.svc.Now()
	a := store.Attempt{Delivery: d.ID, N: d.Attempts + 1, At: now}
	a.StatusCode, a.Error = w.post(ctx, e, d.Event, now)
	w.observe.Attempted(outcome(a.Error))
	switch {
	case a.Error == "":
		a.Status, a.NextAttempt = store.DeliverySucceeded, now
	case now.Sub(d.Created) >= RetryWindow:
		a.Status, a.NextAttempt = store.DeliveryFailed, now
		w.failures.Add(1)
		w.observe.GaveUp()
		w.log.Warn("webhooks: delivery failed for good", "webhook", e.ID, "event", d.Event.ID, "attempts", a.N, "err", a.Error)
	default:
		a.Status, a.NextAttempt = store.DeliveryPending, now.Add(Backoff(a.N, randomFactor()))
	}
	return a
}

// post sends event to e once: the status answered, and why it failed
// ("" for a 2xx).
func (w *Worker) post(ctx context.Context, e store.Endpoint, ev store.Event, now time.Time) (int, string) {
	body, err := w.body(ev)
	if err != nil {
		return 0, fmt.Sprintf("rendering the event: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	setHeaders(req.Header, e.Secret, MessageID(ev.ID), now, body)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, trimError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, ResponseBytesMax))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, "answered " + strconv.Itoa(resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// outcome names an attempt's result for Observer.Attempted from its error
// text ("" for success).
func outcome(errText string) string {
	switch {
	case errText == "":
		return "ok"
	case errText == timedOut:
		return "timeout"
	case strings.Contains(errText, ErrForbiddenAddress.Error()):
		return "refused"
	}
	return "error"
}

// MessageID is an event's webhook-id: the same on every attempt and
// redelivery, so a receiver can drop duplicates.
func MessageID(event int64) string { return "evt_" + strconv.FormatInt(event, 10) }

// errorLenMax bounds an attempt's error text.
const errorLenMax = 500

// timedOut is the error text of an attempt that ran out of time.
const timedOut = "timed out"

func trimError(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return timedOut
	}
	s := err.Error()
	if len(s) > errorLenMax {
		s = s[:errorLenMax]
	}
	return s
}

// Backoff is the delay after the n-th failed attempt (n from 1):
// backoffBase·2ⁿ⁻¹, at most backoffMax, scaled by factor (jitter, in
// [0.75, 1.25)).
func Backoff(n int, factor float64) time.Duration {
	d := backoffMax
	if n < 20 {
		d = min(backoffBase<<(n-1), backoffMax)
	}
	return time.Duration(float64(d) * factor)
}
