package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Canonical forms of the rows the seals chain besides transactions: an
// account's definition and a statement. Each is hashed from what the
// database holds, by the sealer and again by the verifier, so nothing
// extra is written when an account or a statement is inserted.

// accountColumns are the columns scanAccount reads, in its order.
const accountColumns = `id, code, normal_side, currency, shards`

func scanAccount(rows pgx.Rows, program string, extra ...any) (Account, error) {
	a := Account{Program: program}
	var side, shards int16
	if err := rows.Scan(append([]any{&a.ID, &a.Code, &side, &a.Currency, &shards}, extra...)...); err != nil {
		return Account{}, fmt.Errorf("ledger: scanning account: %w", err)
	}
	a.NormalSide, a.Shards = Side(side), int(shards)
	return a, nil
}

// accountHash is SHA-256 of an account's definition: program, code,
// normal side, currency and balance shards.
func accountHash(a Account) []byte {
	return canonicalHash(struct {
		Program    string `json:"p"`
		Code       string `json:"c"`
		NormalSide int    `json:"n"`
		Currency   string `json:"cur"`
		Shards     int    `json:"sh"`
	}{a.Program, a.Code, int(a.NormalSide), a.Currency, a.Shards})
}

// statementRow is a statement as stored (the server owns its meaning).
type statementRow struct {
	id                               int64
	program, partner, period, status string
	released                         string
	body                             []byte
	issuedAt                         time.Time
}

// statementColumns are the columns scanStatement reads, in its order.
const statementColumns = `id, partner_id, period, status, released::text, body::text, issued_at`

func scanStatement(rows pgx.Rows, program string, extra ...any) (statementRow, error) {
	st := statementRow{program: program}
	if err := rows.Scan(append([]any{&st.id, &st.partner, &st.period, &st.status, &st.released, &st.body, &st.issuedAt}, extra...)...); err != nil {
		return statementRow{}, fmt.Errorf("ledger: scanning statement: %w", err)
	}
	return st, nil
}

// statementHash is SHA-256 of a statement: partner, period, status, the
// released amount (as a number: 10.00 and 10 are equal), the body with its
// lines and balances (re-encoded canonically: keys sorted, no spaces,
// numbers as written) and when it was issued.
func statementHash(st statementRow) ([]byte, error) {
	released, err := decimal.NewFromString(st.released)
	if err != nil {
		return nil, fmt.Errorf("ledger: statement %d released %q: %w", st.id, st.released, err)
	}
	dec := json.NewDecoder(bytes.NewReader(st.body))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("ledger: statement %d body: %w", st.id, err)
	}
	return canonicalHash(struct {
		Program  string `json:"p"`
		Partner  string `json:"pa"`
		Period   string `json:"pe"`
		Status   string `json:"s"`
		Released string `json:"r"`
		Body     any    `json:"b"`
		IssuedAt string `json:"at"`
	}{st.program, st.partner, st.period, st.status, released.String(), body,
		st.issuedAt.UTC().Format(time.RFC3339Nano)}), nil
}

// canonicalHash is SHA-256 of v's JSON encoding (struct fields in order,
// map keys sorted).
func canonicalHash(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ledger: canonical form: " + err.Error() + " " + strconv.Quote(fmt.Sprint(v)))
	}
	sum := sha256.Sum256(b)
	return sum[:]
}
