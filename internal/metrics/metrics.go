// Package metrics is accrued's Prometheus instrumentation: RPCs by
// procedure and code with their latency (Interceptor), postings and order
// events (counters, so rate() gives them per second), period closes
// (duration and partners), the database pool (NewPoolCollector) and the
// outbox's lag and webhook failures (Outbox, set by the outbox's worker).
//
// Nothing here is global: New registers on the registry it is given, so a
// test reads its own (NewRegistry, Handler). The package knows the API only
// by procedure names and a response's `replayed` field; it must not reach
// into the service or the database.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every accrue metric.
const namespace = "accrue"

// Metrics are accrue's own metrics, registered on one registry.
type Metrics struct {
	rpcs        *prometheus.CounterVec
	rpcSeconds  *prometheus.HistogramVec
	orderEvents *prometheus.CounterVec
	postings    *prometheus.CounterVec
	closes      prometheus.Counter
	closeTime   prometheus.Histogram
	closeSize   prometheus.Histogram
	refused     prometheus.Counter
	// Outbox is for the outbox's worker to set; see Outbox.
	Outbox *Outbox
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors, for New and Handler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg's metrics in the Prometheus text format (the
// /metrics endpoint).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// New creates accrue's metrics and registers them on reg; it panics if
// they are registered there already (a programming error).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rpc_requests_total",
			Help: "RPCs answered, by procedure and Connect code.",
		}, []string{"procedure", "code"}),
		rpcSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "rpc_duration_seconds",
			Help:    "Time to answer an RPC, by procedure and Connect code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"procedure", "code"}),
		orderEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "order_events_total",
			Help: "Order events accepted (not replays), by event: pay, complete, refund, amend, cancel.",
		}, []string{"event"}),
		postings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "postings_total",
			Help: "Journal transactions committed by commands (not replays), by journal kind.",
		}, []string{"kind"}),
		closes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "period_closes_total",
			Help: "Period closes this process ran to the end.",
		}),
		closeTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "period_close_duration_seconds",
			Help: "Time a period close took, from its claim to its last statement.",
			// 0.1 s to about 40 minutes.
			Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 12),
		}),
		closeSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "period_close_partners",
			Help: "Partners (statements) of a period close.",
			// 10 to 10 million.
			Buckets: prometheus.ExponentialBuckets(10, 10, 7),
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "rpc_refused_in_flight_total",
			Help: "Requests answered resource_exhausted by the in-flight cap, before any RPC handler (not in rpc_requests_total).",
		}),
		Outbox: newOutbox(),
	}
	reg.MustRegister(m.rpcs, m.rpcSeconds, m.orderEvents, m.postings, m.closes, m.closeTime, m.closeSize, m.refused)
	m.Outbox.register(reg)
	return m
}

// RefusedInFlight counts a request the in-flight cap refused
// (server.OnInFlightRefused).
func (m *Metrics) RefusedInFlight() { m.refused.Inc() }

// Posted counts n journal transactions of kind, committed by a command
// (service.Observer).
func (m *Metrics) Posted(kind string, n int) {
	if n > 0 {
		m.postings.WithLabelValues(kind).Add(float64(n))
	}
}

// Closed records a period close this process ran: how long it took and
// for how many partners (service.Observer).
func (m *Metrics) Closed(program, period string, partners int, took time.Duration) {
	m.closes.Inc()
	m.closeTime.Observe(took.Seconds())
	m.closeSize.Observe(float64(partners))
}
