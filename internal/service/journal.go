package service

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
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
// before serving. Without it, a Service signs with a key of its own made at
// first use and lost at exit (for tests: a journal sealed so can never be
// verified against a saved head by another process).
func (s *Service) UseSigningKey(key ed25519.PrivateKey) {
	s.journal.once.Do(func() { s.journal.key = key })
}

// signingKey returns the key seals are signed with.
func (s *Service) signingKey() ed25519.PrivateKey {
	s.journal.once.Do(func() {
		_, s.journal.key, _ = ed25519.GenerateKey(rand.Reader) // crypto/rand never fails on Linux
	})
	return s.journal.key
}

// PublicKey is the key seal heads verify with.
func (s *Service) PublicKey() ed25519.PublicKey {
	return s.signingKey().Public().(ed25519.PublicKey)
}

// Seal chains the program's rows recorded more than ledger.SealLag ago by
// the service's clock into seal blocks, as many as there are, unless the
// journal lost a head this process saw (then it fails
// failed_precondition: sealing would sign over a rewritten journal).
func (s *Service) Seal(ctx context.Context, program string) error {
	for {
		var sealed ledger.Sealed
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			if err := s.checkRememberedHead(ctx, tx, program); err != nil {
				return err
			}
			if err := s.checkLatestSigner(ctx, tx, program); err != nil {
				return err
			}
			// Every journal row is recorded by this clock, so the cutoff
			// reads it too; each attempt reads it anew.
			var err error
			sealed, err = ledger.Seal(ctx, tx, program, s.clock.Now(), s.signingKey())
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
func (s *Service) remember(h ledger.Head) {
	if prev, ok := s.journal.heads.Load(h.Program); ok && prev.(ledger.Head).Seq >= h.Seq {
		return
	}
	s.journal.heads.Store(h.Program, h)
}

func (s *Service) checkRememberedHead(ctx context.Context, tx pgx.Tx, program string) error {
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
		return fault.FailedPrecondition("program", "the journal of %s no longer contains its seal %d signed earlier: "+
			"it was truncated or rewritten; not sealing (run accrue verify)", program, h.Seq)
	}
	return nil
}

// Verification is what VerifyJournal found, and the journal's head after.
type Verification struct {
	Report ledger.Report
	Head   ledger.Head
}

// checkLatestSigner refuses to extend a chain whose latest seal this
// service's key did not sign: it was resealed by someone else, or accrued
// was started with another key than the one that sealed so far. Either
// way a new seal would make the journal verify under no single key.
func (s *Service) checkLatestSigner(ctx context.Context, tx pgx.Tx, program string) error {
	h, err := ledger.LatestHead(ctx, tx, program)
	if err != nil || h.Seq == 0 || h.SignedBy(s.PublicKey()) {
		return err
	}
	s.log.Error("the journal's latest seal is not signed by this server's key: not sealing", "program", program, "seq", h.Seq)
	return fault.FailedPrecondition("program", "the journal of %s ends in seal %d, which this server's --signing-key did not sign: "+
		"it was resealed by someone else, or accrued runs with another key than before; not sealing (run accrue verify)", program, h.Seq)
}

// VerifyJournal checks the program's journal against publicKey (the
// service's own when nil) and, when given, a head saved earlier. A journal
// found intact is then sealed, and its latest head returned.
func (s *Service) VerifyJournal(ctx context.Context, program string, publicKey ed25519.PublicKey, head *ledger.Head) (Verification, error) {
	opts := ledger.VerifyOptions{PublicKey: s.PublicKey(), Head: head}
	if publicKey != nil {
		opts.PublicKey = publicKey
	}
	opts.Cutoff = s.clock.Now().Add(-ledger.SealLag - MissingSealGrace)
	// Verify before sealing: sealing first would sign whatever a rewrite
	// left, and cover the rows whose seals were removed.
	r, err := ledger.VerifyWith(ctx, s.db.Pool, program, opts)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Report: r, Head: r.Head}
	// Only a chain proven signed by this service's key is its own to
	// remember and extend: one that verified under a caller's key may be a
	// forgery that replaced the seals this service signed.
	if r.OK() && bytes.Equal(opts.PublicKey, s.PublicKey()) {
		if v.Head.Seq > 0 {
			s.remember(v.Head)
		}
		if err := s.Seal(ctx, program); err != nil {
			return Verification{}, err
		}
		if v.Head, err = ledger.LatestHead(ctx, s.db.Pool, program); err != nil {
			return Verification{}, err
		}
	}
	return v, nil
}

// JournalHead seals the program's journal and returns its latest head.
func (s *Service) JournalHead(ctx context.Context, program string) (ledger.Head, error) {
	if _, err := ledger.LoadProgram(ctx, s.db.Pool, program); err != nil {
		return ledger.Head{}, err
	}
	if err := s.Seal(ctx, program); err != nil {
		return ledger.Head{}, err
	}
	return ledger.LatestHead(ctx, s.db.Pool, program)
}
