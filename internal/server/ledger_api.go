package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/ledger"
)

// ledgerService serves accrue.v1.LedgerService.
type ledgerService struct{ *Server }

// MaxBalanceAccounts bounds the accounts one GetBalances call names.
const MaxBalanceAccounts = 1000

func sideFromProto(s accruev1.Side) ledger.Side {
	switch s {
	case accruev1.Side_SIDE_DEBIT:
		return ledger.Debit
	case accruev1.Side_SIDE_CREDIT:
		return ledger.Credit
	}
	return 0
}

func sideToProto(s ledger.Side) accruev1.Side {
	if s == ledger.Debit {
		return accruev1.Side_SIDE_DEBIT
	}
	return accruev1.Side_SIDE_CREDIT
}

func transactionToProto(t ledger.Transaction, scale int32) *accruev1.Transaction {
	out := &accruev1.Transaction{
		Id: t.ID, Program: t.Program, Kind: t.Kind, IdempotencyKey: t.Key, At: stamp(t.At),
		Period: t.Period, References: t.Refs, Metadata: t.Metadata, ReversesId: t.ReversesID,
		Hash: fmt.Sprintf("%x", t.Hash),
	}
	for _, e := range t.Entries {
		out.Entries = append(out.Entries, entryToProto(e, t.Kind, scale))
	}
	return out
}

func entryToProto(e ledger.Entry, kind string, scale int32) *accruev1.Entry {
	return &accruev1.Entry{
		Id: e.ID, TransactionId: e.TransactionID, Account: e.Account, Side: sideToProto(e.Side()),
		Amount: e.Amount.Abs().StringFixed(scale), At: stamp(e.At), Kind: kind,
	}
}

func balancesToProto(bs []ledger.Balance, scale int32) []*accruev1.Balance {
	out := make([]*accruev1.Balance, len(bs))
	for i, b := range bs {
		out[i] = &accruev1.Balance{Account: b.Account, Balance: b.Amount.StringFixed(scale), NormalSide: sideToProto(b.NormalSide)}
	}
	return out
}

func (s *ledgerService) OpenAccount(ctx context.Context, req *connect.Request[accruev1.OpenAccountRequest]) (*connect.Response[accruev1.OpenAccountResponse], error) {
	if prefix, ok := affiliate.ManagedAccount(req.Msg.GetCode()); ok {
		return nil, fault.Invalid("code", "accounts under %q are opened by programs and partners, not by hand", prefix)
	}
	var a ledger.Account
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = ledger.OpenAccount(ctx, tx, req.Msg.GetProgram(), req.Msg.GetCode(), sideFromProto(req.Msg.GetNormalSide()), 1)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.OpenAccountResponse{Account: &accruev1.Account{
		Code: a.Code, NormalSide: sideToProto(a.NormalSide), Currency: a.Currency}}), nil
}

func (s *ledgerService) PostTransaction(ctx context.Context, req *connect.Request[accruev1.PostTransactionRequest]) (*connect.Response[accruev1.PostTransactionResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkRawPosting(m.GetIdempotencyKey(), m.GetKind()); err != nil {
		return nil, err
	}
	if m.GetCurrency() != "" {
		if _, ok := money.Scale(m.GetCurrency()); !ok {
			return nil, fault.Invalid("currency", "unknown currency %q", m.GetCurrency())
		}
	}
	var (
		out      ledger.Transaction
		replayed bool
		scale    int32
	)
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		// The share lock keeps a close from moving the open period between
		// choosing this posting's booking period and committing it.
		prog, err := ledger.LockProgram(ctx, tx, m.GetProgram())
		if err != nil {
			return err
		}
		if m.GetCurrency() != "" && m.GetCurrency() != prog.Currency {
			return fault.Invalid("currency", "program %s posts in %s, not %s", prog.ID, prog.Currency, m.GetCurrency())
		}
		scale = prog.Scale
		p := ledger.Posting{
			Program: prog.ID, Key: m.GetIdempotencyKey(), Kind: m.GetKind(), At: at,
			Refs: m.GetReferences(), Metadata: m.GetMetadata(), RequestHash: requestHash(m),
		}
		if len(m.GetEntries()) > ledger.MaxLegs {
			return fault.Invalid("entries", "at most %d entries, got %d", ledger.MaxLegs, len(m.GetEntries()))
		}
		for i, e := range m.GetEntries() {
			field := fmt.Sprintf("entries[%d]", i)
			amount, err := money.Parse(e.GetAmount(), prog.Scale)
			if err != nil {
				return fault.Invalid(field+".amount", "%v", err)
			}
			if kind, ok := affiliate.PartnerAccountKind(e.GetAccount()); ok && (kind == affiliate.Pending || kind == affiliate.InPayout) {
				return fault.Invalid(field+".account", "%s follows orders on hold and payouts in flight; adjust a partner's accrued or payable instead", e.GetAccount())
			}
			p.Legs = append(p.Legs, ledger.Leg{Account: e.GetAccount(), Side: sideFromProto(e.GetSide()), Amount: amount})
		}
		out, replayed, err = ledger.Post(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.PostTransactionResponse{Transaction: transactionToProto(out, scale), Replayed: replayed}), nil
}

func (s *ledgerService) GetTransaction(ctx context.Context, req *connect.Request[accruev1.GetTransactionRequest]) (*connect.Response[accruev1.GetTransactionResponse], error) {
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, err := ledger.Get(ctx, s.db.Pool, prog.ID, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetTransactionResponse{Transaction: transactionToProto(t, prog.Scale)}), nil
}

// checkRawPosting keeps raw ledger writes out of the domain's namespace:
// its idempotency keys and its transaction kinds.
func checkRawPosting(key, kind string) error {
	if key == "" {
		return fault.Invalid("idempotency_key", "required")
	}
	if prefix, ok := affiliate.ReservedKey(key); ok {
		return fault.Invalid("idempotency_key", "keys starting with %q are reserved for accrue's own postings", prefix)
	}
	if affiliate.IsDomainKind(kind) {
		return fault.Invalid("kind", "%q is posted by accrue's order, close, payout and spend commands only", kind)
	}
	return nil
}

// ListTransactions pages through a program's transactions in id order,
// optionally those with one reference (key=value).
func (s *ledgerService) ListTransactions(ctx context.Context, req *connect.Request[accruev1.ListTransactionsRequest]) (*connect.Response[accruev1.ListTransactionsResponse], error) {
	pg, err := readPage(req.Msg, 1)
	if err != nil {
		return nil, err
	}
	after, err := pg.afterID()
	if err != nil {
		return nil, err
	}
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	f := ledger.TransactionFilter{AfterID: after, Limit: pg.limit}
	if r := req.Msg.GetReference(); r != "" {
		k, v, ok := cut(r)
		if !ok {
			return nil, fault.Invalid("reference", "want key=value, got %q", r)
		}
		if k == "order" {
			f.Order = v
		} else {
			f.Refs = map[string]string{k: v}
		}
	}
	ts, err := ledger.ListTransactions(ctx, s.db.Pool, prog.ID, f)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListTransactionsResponse{}
	for _, t := range ts {
		resp.Transactions = append(resp.Transactions, transactionToProto(t, prog.Scale))
	}
	if len(ts) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, strconv.FormatInt(ts[len(ts)-1].ID, 10))
	}
	return connect.NewResponse(resp), nil
}

// cut splits a key=value reference filter; ok is false without a key.
func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}

func (s *ledgerService) ReverseTransaction(ctx context.Context, req *connect.Request[accruev1.ReverseTransactionRequest]) (*connect.Response[accruev1.ReverseTransactionResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	if err := checkRawPosting(m.GetIdempotencyKey(), "reversal"); err != nil {
		return nil, err
	}
	var (
		out      ledger.Transaction
		replayed bool
		scale    int32
	)
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		prog, err := ledger.LockProgram(ctx, tx, m.GetProgram())
		if err != nil {
			return err
		}
		scale = prog.Scale
		orig, err := ledger.Get(ctx, tx, prog.ID, m.GetTransactionId())
		if err != nil {
			return err
		}
		if affiliate.IsDomainKind(orig.Kind) {
			return fault.Precondition("transaction_id", "transaction %d is a %s; correct it with the command that owns it (refund, cancel, fail payout, reverse spend)", orig.ID, orig.Kind)
		}
		out, replayed, err = ledger.Reverse(ctx, tx, prog.ID, m.GetTransactionId(), m.GetIdempotencyKey(), at, m.GetReason(), requestHash(m))
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.ReverseTransactionResponse{Transaction: transactionToProto(out, scale), Replayed: replayed}), nil
}

// GetBalances returns the balances of the named accounts (at most
// MaxBalanceAccounts; every account when none is named), now or as of a
// time.
func (s *ledgerService) GetBalances(ctx context.Context, req *connect.Request[accruev1.GetBalancesRequest]) (*connect.Response[accruev1.GetBalancesResponse], error) {
	if n := len(req.Msg.GetAccounts()); n > MaxBalanceAccounts {
		return nil, fault.Invalid("accounts", "at most %d accounts, got %d", MaxBalanceAccounts, n)
	}
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, _, err := readTime("as_of", req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	bs, err := ledger.Balances(ctx, s.db.Pool, prog.ID, req.Msg.GetAccounts(), t)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetBalancesResponse{Balances: balancesToProto(bs, prog.Scale)}), nil
}

// ListEntries pages through one account's entries in id order.
func (s *ledgerService) ListEntries(ctx context.Context, req *connect.Request[accruev1.ListEntriesRequest]) (*connect.Response[accruev1.ListEntriesResponse], error) {
	pg, err := readPage(req.Msg, 1)
	if err != nil {
		return nil, err
	}
	after, err := pg.afterID()
	if err != nil {
		return nil, err
	}
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	es, err := ledger.ListEntries(ctx, s.db.Pool, prog.ID, req.Msg.GetAccount(), after, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListEntriesResponse{}
	for _, e := range es {
		resp.Entries = append(resp.Entries, entryToProto(e, "", prog.Scale))
	}
	if len(es) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, strconv.FormatInt(es[len(es)-1].ID, 10))
	}
	return connect.NewResponse(resp), nil
}

func (s *ledgerService) GetTrialBalance(ctx context.Context, req *connect.Request[accruev1.GetTrialBalanceRequest]) (*connect.Response[accruev1.GetTrialBalanceResponse], error) {
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, _, err := readTime("as_of", req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	tb, err := ledger.GetTrialBalance(ctx, s.db.Pool, prog.ID, t)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetTrialBalanceResponse{
		Balances: balancesToProto(tb.Balances, prog.Scale), Total: tb.Total.StringFixed(prog.Scale),
		TotalDebits: tb.Debits.StringFixed(prog.Scale), TotalCredits: tb.Credits.StringFixed(prog.Scale),
	}), nil
}

// RunScheduled runs every scheduled job due at now: the statement closes
// (RunDueCloses), then sealing every program's journal, so tampering with
// a row older than ledger.SealLag breaks the chain even if nobody verified,
// then expiring idempotency records past CommandRetention.
func (s *Server) RunScheduled(ctx context.Context, now time.Time) error {
	closeErr := s.RunDueCloses(ctx, now)
	rows, err := s.db.Pool.Query(ctx, `SELECT id FROM programs ORDER BY id`)
	if err != nil {
		return errors.Join(closeErr, fmt.Errorf("server: listing programs: %w", err))
	}
	programs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return errors.Join(closeErr, fmt.Errorf("server: listing programs: %w", err))
	}
	errs := []error{closeErr}
	for _, p := range programs {
		if err := s.seal(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("sealing %s: %w", p, err))
		}
	}
	if err := s.expireCommands(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CommandRetention is how long a write command's idempotency record keeps
// its response: a retry with the same key within it replays the first
// response; after it, the key is refused (already_exists). Far longer than
// any client retries.
const CommandRetention = 90 * 24 * time.Hour

// expireBatch bounds how many idempotency records one run expires.
const expireBatch = 10000

// expireCommands drops the response bodies of idempotency records older
// than CommandRetention, by the database's clock (created_at is the
// database's time), and marks them expired. The key and request hash stay,
// so a late retry is refused instead of run a second time.
func (s *Server) expireCommands(ctx context.Context) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE commands SET response = ''::bytea, expired = true
		WHERE (program_id, idempotency_key) IN (
			SELECT program_id, idempotency_key FROM commands
			WHERE NOT expired AND created_at < now() - $1::interval LIMIT $2)`,
		CommandRetention, expireBatch)
	if err != nil {
		return fmt.Errorf("server: expiring idempotency records: %w", err)
	}
	return nil
}
