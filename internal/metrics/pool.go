package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStat is what the pool collector reads of a connection pool's
// statistics; *pgxpool.Stat has it.
type PoolStat interface {
	AcquireCount() int64
	AcquireDuration() time.Duration
	AcquiredConns() int32
	CanceledAcquireCount() int64
	ConstructingConns() int32
	EmptyAcquireCount() int64
	IdleConns() int32
	MaxConns() int32
	TotalConns() int32
	NewConnsCount() int64
}

// poolCollector reports a pool's statistics at each scrape.
type poolCollector[S PoolStat] struct {
	stat  func() S
	descs poolDescs
}

type poolDescs struct {
	acquires, acquireSeconds, canceled, empty, created *prometheus.Desc
	acquired, constructing, idle, max, total           *prometheus.Desc
}

// NewPoolCollector reports the database pool's statistics, read from stat
// (pool.Stat) at each scrape: connections in use, idle, being made, the
// maximum and total, and counters of acquisitions, time spent acquiring,
// acquisitions that had to wait (empty) or were canceled, and connections
// made.
func NewPoolCollector[S PoolStat](stat func() S) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "db_pool", name), help, nil, nil)
	}
	return &poolCollector[S]{stat: stat, descs: poolDescs{
		acquires:       d("acquires_total", "Connections acquired from the pool."),
		acquireSeconds: d("acquire_seconds_total", "Time spent acquiring connections."),
		canceled:       d("canceled_acquires_total", "Acquisitions canceled before a connection was free."),
		empty:          d("empty_acquires_total", "Acquisitions that waited because no connection was idle."),
		created:        d("new_connections_total", "Connections opened."),
		acquired:       d("acquired_connections", "Connections in use."),
		constructing:   d("constructing_connections", "Connections being opened."),
		idle:           d("idle_connections", "Idle connections."),
		max:            d("max_connections", "The pool's maximum size."),
		total:          d("total_connections", "Connections open (in use, idle or being opened)."),
	}}
}

// Describe sends the descriptors of every pool metric.
func (c *poolCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, desc := range []*prometheus.Desc{d.acquires, d.acquireSeconds, d.canceled, d.empty, d.created,
		d.acquired, d.constructing, d.idle, d.max, d.total} {
		ch <- desc
	}
}

// Collect reads the pool's statistics once and sends them.
func (c *poolCollector[S]) Collect(ch chan<- prometheus.Metric) {
	s, d := c.stat(), c.descs
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v)
	}
	gauge := func(desc *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v))
	}
	counter(d.acquires, float64(s.AcquireCount()))
	counter(d.acquireSeconds, s.AcquireDuration().Seconds())
	counter(d.canceled, float64(s.CanceledAcquireCount()))
	counter(d.empty, float64(s.EmptyAcquireCount()))
	counter(d.created, float64(s.NewConnsCount()))
	gauge(d.acquired, s.AcquiredConns())
	gauge(d.constructing, s.ConstructingConns())
	gauge(d.idle, s.IdleConns())
	gauge(d.max, s.MaxConns())
	gauge(d.total, s.TotalConns())
}
