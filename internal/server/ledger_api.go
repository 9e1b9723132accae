package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ledgerService serves accrue.v1.LedgerService.
type ledgerService struct{ *Server }

// BalanceAccountsMax bounds the accounts one GetBalances call names.
const BalanceAccountsMax = 1000

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
	a, err := s.svc.OpenAccount(ctx, req.Msg.GetProgram(), req.Msg.GetCode(), sideFromProto(req.Msg.GetNormalSide()))
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
	p := service.RawPosting{
		Program: m.GetProgram(), Key: m.GetIdempotencyKey(), Kind: m.GetKind(), Currency: m.GetCurrency(), At: at,
		Refs: m.GetReferences(), Metadata: m.GetMetadata(), Hash: requestHash(m),
	}
	for _, e := range m.GetEntries() {
		p.Entries = append(p.Entries, service.RawEntry{Account: e.GetAccount(), Side: sideFromProto(e.GetSide()), Amount: e.GetAmount()})
	}
	out, err := s.svc.PostTransaction(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.PostTransactionResponse{Transaction: transactionToProto(out.Transaction, out.Scale), Replayed: out.Replayed}), nil
}

func (s *ledgerService) ReverseTransaction(ctx context.Context, req *connect.Request[accruev1.ReverseTransactionRequest]) (*connect.Response[accruev1.ReverseTransactionResponse], error) {
	m := req.Msg
	at, err := s.at(m.GetAt())
	if err != nil {
		return nil, err
	}
	out, err := s.svc.ReverseTransaction(ctx, service.RawReversal{
		Program: m.GetProgram(), TransactionID: m.GetTransactionId(), Key: m.GetIdempotencyKey(), Reason: m.GetReason(),
		At: at, Hash: requestHash(m),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.ReverseTransactionResponse{Transaction: transactionToProto(out.Transaction, out.Scale), Replayed: out.Replayed}), nil
}

func (s *ledgerService) GetTransaction(ctx context.Context, req *connect.Request[accruev1.GetTransactionRequest]) (*connect.Response[accruev1.GetTransactionResponse], error) {
	journal, err := s.svc.Program(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, err := s.svc.Transaction(ctx, journal, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetTransactionResponse{Transaction: transactionToProto(t, journal.Scale)}), nil
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
	journal, err := s.svc.Program(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	f := ledger.TransactionFilter{AfterID: after, Limit: pg.limit}
	if r := req.Msg.GetReference(); r != "" {
		k, v, ok := strings.Cut(r, "=")
		if !ok || k == "" {
			return nil, fault.InvalidArgument("reference", "want key=value, got %q", r)
		}
		if k == "order" {
			f.Order = v
		} else {
			f.Refs = map[string]string{k: v}
		}
	}
	ts, err := s.svc.Transactions(ctx, journal, f)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListTransactionsResponse{}
	for _, t := range ts {
		resp.Transactions = append(resp.Transactions, transactionToProto(t, journal.Scale))
	}
	if len(ts) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, strconv.FormatInt(ts[len(ts)-1].ID, 10))
	}
	return connect.NewResponse(resp), nil
}

// GetBalances returns the balances of the named accounts (at most
// BalanceAccountsMax; every account when none is named), now or as of a
// time.
func (s *ledgerService) GetBalances(ctx context.Context, req *connect.Request[accruev1.GetBalancesRequest]) (*connect.Response[accruev1.GetBalancesResponse], error) {
	if n := len(req.Msg.GetAccounts()); n > BalanceAccountsMax {
		return nil, fault.InvalidArgument("accounts", "at most %d accounts, got %d", BalanceAccountsMax, n)
	}
	journal, err := s.svc.Program(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, _, err := readTime("as_of", req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	bs, err := s.svc.Balances(ctx, journal, req.Msg.GetAccounts(), t)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetBalancesResponse{Balances: balancesToProto(bs, journal.Scale)}), nil
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
	journal, err := s.svc.Program(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	es, err := s.svc.Entries(ctx, journal, req.Msg.GetAccount(), after, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListEntriesResponse{}
	for _, e := range es {
		resp.Entries = append(resp.Entries, entryToProto(e, "", journal.Scale))
	}
	if len(es) == pg.limit {
		resp.NextPageToken = pg.nextToken(req.Msg, strconv.FormatInt(es[len(es)-1].ID, 10))
	}
	return connect.NewResponse(resp), nil
}

func (s *ledgerService) GetTrialBalance(ctx context.Context, req *connect.Request[accruev1.GetTrialBalanceRequest]) (*connect.Response[accruev1.GetTrialBalanceResponse], error) {
	journal, err := s.svc.Program(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	t, _, err := readTime("as_of", req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	tb, err := s.svc.TrialBalance(ctx, journal, t)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetTrialBalanceResponse{
		Balances: balancesToProto(tb.Balances, journal.Scale), Total: tb.Total.StringFixed(journal.Scale),
		TotalDebits: tb.Debits.StringFixed(journal.Scale), TotalCredits: tb.Credits.StringFixed(journal.Scale),
	}), nil
}

func (s *ledgerService) VerifyJournal(ctx context.Context, req *connect.Request[accruev1.VerifyJournalRequest]) (*connect.Response[accruev1.VerifyJournalResponse], error) {
	var key ed25519.PublicKey
	if k := req.Msg.GetPublicKey(); k != nil {
		if len(k) != ed25519.PublicKeySize {
			return nil, fault.InvalidArgument("public_key", "an Ed25519 public key has %d bytes, not %d", ed25519.PublicKeySize, len(k))
		}
		key = k
	}
	var head *ledger.Head
	if h := req.Msg.GetHead(); h != nil {
		saved := headFromProto(h)
		head = &saved
	}
	v, err := s.svc.VerifyJournal(ctx, req.Msg.GetProgram(), key, head)
	if err != nil {
		return nil, err
	}
	r := v.Report
	return connect.NewResponse(&accruev1.VerifyJournalResponse{
		Ok: r.OK(), TransactionsChecked: r.Transactions, AccountsChecked: r.Accounts, Problems: r.Problems,
		StatementsChecked: r.Statements, SealsChecked: r.Seals, Head: headToProto(v.Head),
	}), nil
}

func (s *ledgerService) GetJournalHead(ctx context.Context, req *connect.Request[accruev1.GetJournalHeadRequest]) (*connect.Response[accruev1.GetJournalHeadResponse], error) {
	head, err := s.svc.JournalHead(ctx, req.Msg.GetProgram())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetJournalHeadResponse{Head: headToProto(head)}), nil
}

func headToProto(h ledger.Head) *accruev1.JournalHead {
	if h.Seq == 0 {
		return nil
	}
	return &accruev1.JournalHead{
		Program: h.Program, Seq: h.Seq, Hash: h.Hash, LastTransactionId: h.LastTransactionID,
		Transactions: h.Transactions, SealedAt: timestamppb.New(h.SealedAt), PublicKey: h.PublicKey, Signature: h.Signature,
	}
}

func headFromProto(h *accruev1.JournalHead) ledger.Head {
	return ledger.Head{
		Program: h.GetProgram(), Seq: h.GetSeq(), Hash: h.GetHash(), LastTransactionID: h.GetLastTransactionId(),
		Transactions: h.GetTransactions(), SealedAt: h.GetSealedAt().AsTime(), PublicKey: h.GetPublicKey(), Signature: h.GetSignature(),
	}
}
