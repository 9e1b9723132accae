package service

import "time"

// Observer is told what the service committed, for metrics: it is called
// after the transaction commits, never for a replayed command, and must
// not block.
type Observer interface {
	// Posted: a command committed n journal transactions of kind (a
	// domain kind, "raw" or "reversal": a bounded set).
	Posted(kind string, n int)
	// Closed: this process ran the close of program's period to its end,
	// writing partners statements, in took.
	Closed(program, period string, partners int, took time.Duration)
}

// nopObserver is the Observer of a service nobody observes.
type nopObserver struct{}

func (nopObserver) Posted(string, int)                        {}
func (nopObserver) Closed(string, string, int, time.Duration) {}

// ObserveWith makes o the service's Observer; call it before serving.
func (s *Service) ObserveWith(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	s.observer = o
}
