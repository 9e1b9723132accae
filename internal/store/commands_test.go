package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) *txn.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	return db
}

// A claim is recorded once, running until finished; a finished command
// cannot be finished again.
func TestCommandClaimAndFinish(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	c := store.Command{Program: "p", Key: "k", Method: "accrue.v1.X", Hash: []byte{1, 2}}
	for i, want := range []bool{true, false} {
		claimed, err := store.RecordCommand(ctx, db.Pool, c, nil)
		if err != nil || claimed != want {
			t.Fatalf("claim %d = %v, %v; want %v", i, claimed, err, want)
		}
	}
	got, found, err := store.LoadCommand(ctx, db.Pool, "p", "k")
	if err != nil || !found || !got.Running || !bytes.Equal(got.Hash, c.Hash) {
		t.Fatalf("LoadCommand = %+v, %v, %v; want running with the hash", got, found, err)
	}
	for i, want := range []bool{true, false} {
		done, err := store.FinishCommand(ctx, db.Pool, "p", "k", []byte("body"))
		if err != nil || done != want {
			t.Fatalf("finish %d = %v, %v; want %v", i, done, err, want)
		}
	}
	got, _, _ = store.LoadCommand(ctx, db.Pool, "p", "k")
	if got.Running || string(got.Response) != "body" {
		t.Fatalf("after finish: %+v", got)
	}
	if _, found, err := store.LoadCommand(ctx, db.Pool, "p", "other"); found || err != nil {
		t.Fatalf("LoadCommand of an unknown key = %v, %v", found, err)
	}
}
