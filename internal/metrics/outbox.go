package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outbox are the metrics of the transactional outbox and its webhook
// worker, created and registered by New (Metrics.Outbox) so that the
// worker only sets them:
//
//   - LagSeconds: age of the oldest event not yet delivered to every
//     endpoint subscribed to it (0 when none is pending); set it after
//     each pass of the worker.
//   - Pending: deliveries waiting (first try or retry).
//   - Deliveries: delivery attempts by outcome ("ok", "error", "timeout",
//     "refused"); rate() of the non-"ok" ones are the webhook failures.
//   - Failed: deliveries given up on after their last retry (marked
//     failed); alert on any increase.
type Outbox struct {
	LagSeconds prometheus.Gauge
	Pending    prometheus.Gauge
	Deliveries *prometheus.CounterVec
	Failed     prometheus.Counter
}

func newOutbox() *Outbox {
	return &Outbox{
		LagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "outbox", Name: "lag_seconds",
			Help: "Age of the oldest outbox event not yet delivered to every subscribed endpoint.",
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "outbox", Name: "pending_deliveries",
			Help: "Webhook deliveries waiting for their first try or a retry.",
		}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts, by outcome (ok, error, timeout, refused).",
		}, []string{"outcome"}),
		Failed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "webhook", Name: "failed_total",
			Help: "Webhook deliveries marked failed after their last retry.",
		}),
	}
}

func (o *Outbox) register(reg prometheus.Registerer) {
	reg.MustRegister(o.LagSeconds, o.Pending, o.Deliveries, o.Failed)
}

// Attempted counts one delivery attempt by outcome (webhook.Observer).
func (o *Outbox) Attempted(outcome string) { o.Deliveries.WithLabelValues(outcome).Inc() }

// GaveUp counts a delivery marked failed (webhook.Observer).
func (o *Outbox) GaveUp() { o.Failed.Inc() }

// SetBacklog sets the lag and the pending deliveries, read from the
// database (at each scrape, in accrued).
func (o *Outbox) SetBacklog(pending int64, lag time.Duration) {
	o.Pending.Set(float64(pending))
	o.LagSeconds.Set(lag.Seconds())
}
