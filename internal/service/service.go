package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// Service runs accrue's use cases over one database and one clock.
type Service struct {
	db    *txn.DB
	clock clock.Clock
	log   *slog.Logger
	// versions caches parsed rules versions; rows of rule_versions never
	// change, so the cache cannot drift from the database.
	versions sync.Map // versionKey -> *rules.Program
	// journal signs seal heads and remembers the last it saw (journal.go).
	journal journalState
	// close holds the period close's test hooks (lease.go); statements
	// encodes the statements it writes (statements.go).
	close      CloseHooks
	statements StatementEncoder
	// observer is told what commits (observe.go).
	observer Observer
	// events renders and filters the outbox's events (events.go).
	events eventState
	// clicks and orders coalesce concurrent RecordClick and PayOrder
	// commands into batches, one transaction each (group.go).
	clicks *group[BatchClick, ClickOutcome]
	// known is what the one-statement path of clicks remembers
	// (click_known.go).
	known  knownClicks
	orders *group[orderCall, orderOutcome]
	// accounts are the journal accounts PayOrder batches have seen
	// committed, so a batch reads only the accounts it has not seen.
	accounts *ledger.AccountCache
	// orderHook, when set (tests), runs in every attempt of a PayOrder
	// batch before its writes; an error rolls the attempt back.
	orderHook func() error
}

type versionKey struct {
	program string
	version int32
}

// New returns a Service over db reading time from clk.
func New(db *txn.DB, clk clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, clock: clk, log: log, observer: nopObserver{}, accounts: ledger.NewAccountCache(ledger.AccountCacheMax)}
	s.clicks = newGroup(clickGroupSize, s.recordClickGroup)
	s.orders = newGroup(orderGroupSize, s.payOrderGroup)
	return s
}

// Ping reports whether the database answers (the readiness probe).
func (s *Service) Ping(ctx context.Context) error { return s.db.Pool.Ping(ctx) }

// RulesVersion returns the parsed rules of one stored version.
func (s *Service) RulesVersion(ctx context.Context, q ledger.Querier, program string, version int32) (*rules.Program, error) {
	k := versionKey{program, version}
	if p, ok := s.versions.Load(k); ok {
		return p.(*rules.Program), nil
	}
	doc, err := store.RulesDocument(ctx, q, program, version)
	if err != nil {
		return nil, err
	}
	p, err := rules.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("service: stored rules version %d of %s no longer parses: %w", version, program, err)
	}
	s.versions.Store(k, p)
	return p, nil
}

// VersionAt returns the rules version in force at t (store.VersionAt) and
// its parsed rules; fault NotFound on program when it has none.
func (s *Service) VersionAt(ctx context.Context, q ledger.Querier, program string, t time.Time) (int32, *rules.Program, error) {
	v, err := store.VersionAt(ctx, q, program, t)
	if err != nil {
		return 0, nil, err
	}
	if v == 0 {
		return 0, nil, fault.NotFound("program", "program %q has no rules", program)
	}
	p, err := s.RulesVersion(ctx, q, program, v)
	return v, p, err
}
