package accruev1_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/server"
)

// baseURL is the accrued the examples talk to, as a user's program would
// talk to theirs: started by TestMain on a fresh test database.
var baseURL string

// exampleNow is the server's clock: after every `at` the examples send, and
// after January 2026 ended, so that month can be closed.
var exampleNow = time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)

// TestMain serves accrued's handler in process for the examples. Without a
// PostgreSQL (none at ACCRUE_TEST_DATABASE_URL and none pgtest can start)
// the tests fail: they never pass without having run.
func TestMain(m *testing.M) { pgtest.Main(withAccrued{m}) }

// withAccrued runs the tests with baseURL serving accrued.
type withAccrued struct{ m *testing.M }

func (w withAccrued) Run() int {
	stop, err := startAccrued(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "accruev1 examples: starting accrued: %v\n", err)
		return 1
	}
	defer stop()
	return w.m.Run()
}

// startAccrued migrates a fresh database, serves accrued's handler over
// HTTP on loopback and sets baseURL; stop undoes all of it.
func startAccrued(ctx context.Context) (stop func(), err error) {
	dbURL, drop, err := pgtest.NewDatabase(ctx)
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		_ = drop()
		return nil, fmt.Errorf("database.Open: %w", err)
	}
	srv := httptest.NewServer(server.New(db, clock.NewSim(exampleNow), nil).Handler())
	baseURL = srv.URL
	return func() {
		srv.Close()
		db.Pool.Close()
		if err := drop(); err != nil {
			fmt.Fprintf(os.Stderr, "accruev1 examples: %v\n", err)
		}
	}, nil
}
