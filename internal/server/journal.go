package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
)

// MissingSealGrace is how long past ledger.SealLag a row may stay unsealed
// before VerifyJournal reports its seal missing: the scheduler seals every
// minute while accrued runs, and only accrued writes rows.
const MissingSealGrace = 10 * time.Minute

// journalState is the signing key, which never enters the database, and
// the latest head this process signed or verified per program: the sealer
// refuses to extend a journal that no longer contains it.
type journalState struct {
	once  sync.Once
	key   ed25519.PrivateKey
	heads sync.Map // program -> ledger.Head
}

// UseSigningKey sets the Ed25519 key seal heads are signed with; call it
// before serving. Without it, a Server signs with a key of its own made at
// first use and lost at exit (for tests: a journal sealed so can never be
// verified against a saved head by another process).
func (s *Server) UseSigningKey(key ed25519.PrivateKey) {
	s.journal.once.Do(func() { s.journal.key = key })
}

// signingKey returns the key seals are signed with.
func (s *Server) signingKey() ed25519.PrivateKey {
	s.journal.once.Do(func() {
		_, s.journal.key, _ = ed25519.GenerateKey(rand.Reader) // crypto/rand never fails on Linux
	})
	return s.journal.key
}

// PublicKey is the key seal heads verify with.
func (s *Server) PublicKey() ed25519.PublicKey {
	return s.signingKey().Public().(ed25519.PublicKey)
}

// seal chains the program's rows older than ledger.SealLag into seal
// blocks, as many as there are, unless the journal lost a head this
// process saw (then it fails failed_precondition: sealing would sign over
// a rewritten journal).
func (s *Server) seal(ctx context.Context, program string) error {
	for {
		var sealed ledger.Sealed
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			if err := s.checkRememberedHead(ctx, tx, program); err != nil {
				return err
			}
			if err := s.checkLatestSigner(ctx, tx, program); err != nil {
				return err
			}
			// created_at is the database's wall time, so the cutoff is too.
			var cutoff time.Time
			if err := tx.QueryRow(ctx, `SELECT now() - $1::interval`, ledger.SealLag).Scan(&cutoff); err != nil {
				return fmt.Errorf("server: reading the seal cutoff: %w", err)
			}
			var err error
			sealed, err = ledger.Seal(ctx, tx, program, cutoff, s.signingKey())
			return err
		})
		if err != nil {
			return err
		}
		if sealed.Head.Seq > 0 {
			s.remember(sealed.Head)
			s.log.Info("journal sealed", "program", program, "seq", sealed.Head.Seq,
				"hash", fmt.Sprintf("%x", sealed.Head.Hash), "transactions", sealed.Head.Transactions)
		}
		if !sealed.Full() {
			return nil
		}
	}
}

// remember keeps h as the program's latest known head unless a later one
// is known.
func (s *Server) remember(h ledger.Head) {
	if prev, ok := s.journal.heads.Load(h.Program); ok && prev.(ledger.Head).Seq >= h.Seq {
		return
	}
	s.journal.heads.Store(h.Program, h)
}

func (s *Server) checkRememberedHead(ctx context.Context, tx pgx.Tx, program string) error {
	v, ok := s.journal.heads.Load(program)
	if !ok {
		return nil
	}
	h := v.(ledger.Head)
	found, err := ledger.ContainsHead(ctx, tx, h)
	if err != nil {
		return err
	}
	if !found {
		s.log.Error("the journal lost a signed head: not sealing", "program", program, "seq", h.Seq, "hash", fmt.Sprintf("%x", h.Hash))
		return fault.Precondition("program", "the journal of %s no longer contains its seal %d signed earlier: "+
			"it was truncated or rewritten; not sealing (run accrue verify)", program, h.Seq)
	}
	return nil
}

// checkLatestSigner refuses to extend a chain whose latest seal this
// server's key did not sign: it was resealed by someone else, or accrued
// was started with another key than the one that sealed so far. Either
// way a new seal would make the journal verify under no single key.
func (s *Server) checkLatestSigner(ctx context.Context, tx pgx.Tx, program string) error {
	h, err := ledger.LatestHead(ctx, tx, program)
	if err != nil || h.Seq == 0 || h.SignedBy(s.PublicKey()) {
		return err
	}
	s.log.Error("the journal's latest seal is not signed by this server's key: not sealing", "program", program, "seq", h.Seq)
	return fault.Precondition("program", "the journal of %s ends in seal %d, which this server's --signing-key did not sign: "+
		"it was resealed by someone else, or accrued runs with another key than before; not sealing (run accrue verify)", program, h.Seq)
}

func (s *ledgerService) VerifyJournal(ctx context.Context, req *connect.Request[accruev1.VerifyJournalRequest]) (*connect.Response[accruev1.VerifyJournalResponse], error) {
	program := req.Msg.GetProgram()
	opts := ledger.VerifyOptions{PublicKey: s.PublicKey()}
	if k := req.Msg.GetPublicKey(); k != nil {
		if len(k) != ed25519.PublicKeySize {
			return nil, fault.Invalid("public_key", "an Ed25519 public key has %d bytes, not %d", ed25519.PublicKeySize, len(k))
		}
		opts.PublicKey = k
	}
	if h := req.Msg.GetHead(); h != nil {
		head := headFromProto(h)
		opts.Head = &head
	}
	if err := s.db.Pool.QueryRow(ctx, `SELECT now() - $1::interval`, ledger.SealLag+MissingSealGrace).Scan(&opts.Cutoff); err != nil {
		return nil, fmt.Errorf("server: reading the missing-seal cutoff: %w", err)
	}
	// Verify before sealing: sealing first would sign whatever a rewrite
	// left, and cover the rows whose seals were removed.
	r, err := ledger.VerifyWith(ctx, s.db.Pool, program, opts)
	if err != nil {
		return nil, err
	}
	head := r.Head
	// Only a chain proven signed by this server's key is its own to
	// remember and extend: one that verified under a caller's key may be a
	// forgery that replaced the seals this server signed.
	if r.OK() && bytes.Equal(opts.PublicKey, s.PublicKey()) {
		if head.Seq > 0 {
			s.remember(head)
		}
		if err := s.seal(ctx, program); err != nil {
			return nil, err
		}
		if head, err = ledger.LatestHead(ctx, s.db.Pool, program); err != nil {
			return nil, err
		}
	}
	return connect.NewResponse(&accruev1.VerifyJournalResponse{
		Ok: r.OK(), TransactionsChecked: r.Transactions, AccountsChecked: r.Accounts, Problems: r.Problems,
		StatementsChecked: r.Statements, SealsChecked: r.Seals, Head: headToProto(head),
	}), nil
}

func (s *ledgerService) GetJournalHead(ctx context.Context, req *connect.Request[accruev1.GetJournalHeadRequest]) (*connect.Response[accruev1.GetJournalHeadResponse], error) {
	program := req.Msg.GetProgram()
	if _, err := ledger.LoadProgram(ctx, s.db.Pool, program); err != nil {
		return nil, err
	}
	if err := s.seal(ctx, program); err != nil {
		return nil, err
	}
	head, err := ledger.LatestHead(ctx, s.db.Pool, program)
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
