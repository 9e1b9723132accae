package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Head is a signed journal head: the state of a program's seal chain after
// seal Seq. Anyone holding it and the public key can later prove that the
// journal still contains exactly what was sealed up to it (VerifyOptions).
type Head struct {
	Program string
	Seq     int64
	// Hash is seal Seq's block hash, which chains every earlier block.
	Hash []byte
	// LastTransactionID is the highest transaction id sealed up to Seq,
	// Transactions how many transactions seals 1..Seq cover.
	LastTransactionID int64
	Transactions      int64
	SealedAt          time.Time
	PublicKey         ed25519.PublicKey
	Signature         []byte
}

// Message is what the signature signs: every field but the key and the
// signature, in a fixed text form.
func (h Head) Message() []byte {
	return fmt.Appendf(nil, "accrue journal head v1\nprogram %q\nseq %d\nhash %x\nlast_transaction_id %d\ntransactions %d\nsealed_at %s\n",
		h.Program, h.Seq, h.Hash, h.LastTransactionID, h.Transactions, h.SealedAt.UTC().Format(time.RFC3339Nano))
}

func (h *Head) sign(key ed25519.PrivateKey) {
	h.PublicKey = key.Public().(ed25519.PublicKey)
	h.Signature = ed25519.Sign(key, h.Message())
}

// SignedBy reports whether the head carries key and a valid signature by it.
func (h Head) SignedBy(key ed25519.PublicKey) bool {
	return len(key) == ed25519.PublicKeySize && bytes.Equal(h.PublicKey, key) &&
		ed25519.Verify(key, h.Message(), h.Signature)
}

// headColumns read a seal as a Head with scanHead.
const headColumns = `seq, hash, upto_id, tx_total, sealed_at, COALESCE(public_key, ''::bytea), COALESCE(signature, ''::bytea)`

func scanHead(row pgx.Row, program string) (Head, error) {
	h := Head{Program: program}
	var pub []byte
	err := row.Scan(&h.Seq, &h.Hash, &h.LastTransactionID, &h.Transactions, &h.SealedAt, &pub, &h.Signature)
	h.PublicKey, h.SealedAt = pub, h.SealedAt.UTC()
	return h, err
}

// LatestHead returns the program's latest seal as a signed head; the zero
// Head when nothing is sealed.
func LatestHead(ctx context.Context, q Querier, program string) (Head, error) {
	h, err := scanHead(q.QueryRow(ctx, `SELECT `+headColumns+` FROM seals WHERE program_id = $1 ORDER BY seq DESC LIMIT 1`, program), program)
	if isNoRows(err) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("ledger: reading the journal head of %s: %w", program, err)
	}
	return h, nil
}

// ContainsHead reports whether the program's seal h.Seq still has h's hash.
// It does not re-verify the chain (VerifyWith does): it is the sealer's
// cheap guard against extending a journal truncated or resealed under it.
func ContainsHead(ctx context.Context, q Querier, h Head) (bool, error) {
	var hash []byte
	err := q.QueryRow(ctx, `SELECT hash FROM seals WHERE program_id = $1 AND seq = $2`, h.Program, h.Seq).Scan(&hash)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ledger: looking for seal %d of %s: %w", h.Seq, h.Program, err)
	}
	return bytes.Equal(hash, h.Hash), nil
}
