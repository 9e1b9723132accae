package txn

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRetryRestartsOnSerializationFailureAndDeadlock(t *testing.T) {
	for _, code := range []string{"40001", "40P01"} {
		calls := 0
		err := Retry(context.Background(), func(context.Context) error {
			calls++
			if calls < 3 {
				return &pgconn.PgError{Code: code}
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("code %s: err=%v calls=%d, want nil and 3", code, err, calls)
		}
	}
}

func TestRetryStopsOnOtherErrors(t *testing.T) {
	calls := 0
	want := &pgconn.PgError{Code: "23505"}
	err := Retry(context.Background(), func(context.Context) error {
		calls++
		return want
	})
	if !errors.Is(err, want) || calls != 1 {
		t.Fatalf("err=%v calls=%d, want the unique violation after 1 call", err, calls)
	}
}

func TestRetryGivesUp(t *testing.T) {
	calls := 0
	err := Retry(context.Background(), func(context.Context) error {
		calls++
		return &pgconn.PgError{Code: "40001"}
	})
	if err == nil || calls != AttemptsMax || !Retryable(err) {
		t.Fatalf("err=%v calls=%d, want a wrapped 40001 after %d calls", err, calls, AttemptsMax)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Retry(ctx, func(context.Context) error {
		calls++
		cancel()
		return &pgconn.PgError{Code: "40001"}
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err=%v calls=%d, want context.Canceled after 1 call", err, calls)
	}
}
