package ledger

import (
	"time"

	"github.com/shopspring/decimal"
)

// Side is the side of an entry or an account's normal side.
type Side int8

// The two sides. An entry's signed amount is positive for a debit.
const (
	Debit  Side = 1
	Credit Side = -1
)

// String returns "debit" or "credit".
func (s Side) String() string {
	if s == Debit {
		return "debit"
	}
	return "credit"
}

// Limits on what one request may carry.
const (
	// MaxLegs bounds the legs of one posting.
	MaxLegs = 200
	// MaxKeyLen bounds an idempotency key, in bytes.
	MaxKeyLen = 200
	// MaxKindLen bounds a transaction kind, in bytes.
	MaxKindLen = 64
	// MaxMapEntries bounds the entries of a posting's refs or metadata.
	MaxMapEntries = 32
	// MaxMapKeyLen bounds a refs or metadata key, in bytes.
	MaxMapKeyLen = 64
	// MaxMapValueLen bounds a refs or metadata value, in bytes.
	MaxMapValueLen = 1024
	// MaxAccountLen bounds an account code, in bytes.
	MaxAccountLen = 200
	// MaxPageSize bounds the rows one list call returns.
	MaxPageSize = 1000
	// DefaultPageSize is the page size when a caller gives none.
	DefaultPageSize = 100
	// MaxAccountShards bounds the balance rows of one hot account.
	MaxAccountShards = 64
)

// Account is one account of a program's chart.
type Account struct {
	ID         int64
	Program    string
	Code       string
	NormalSide Side
	Currency   string
	// Shards is the number of stored balance rows; > 1 for hot accounts.
	Shards int
}

// Leg is one side of a posting: a positive amount on one account.
type Leg struct {
	Account string
	Side    Side
	Amount  decimal.Decimal
}

// Posting is a transaction to write.
type Posting struct {
	Program string
	// Key is the idempotency key, unique per program.
	Key  string
	Kind string
	At   time.Time
	// Period is the booking period (YYYY-MM); derived from At and the
	// program's open period when empty.
	Period     string
	Refs       map[string]string
	Metadata   map[string]string
	Legs       []Leg
	ReversesID int64
	// RequestHash identifies the request that caused the posting, for
	// idempotency; the posting's own content hash when nil.
	RequestHash []byte
	// Recorded is when the journal records the posting (created_at): the
	// caller's clock, read inside the attempt of the transaction that
	// writes it, so a retry records its own time. The sealer compares it
	// with its cutoff (Seal). Required; it is in no hash.
	Recorded time.Time
}

// Entry is one posted leg; Amount is signed (debits positive).
type Entry struct {
	ID            int64
	TransactionID int64
	Account       string
	Amount        decimal.Decimal
	At            time.Time
	Period        string
}

// Side returns the entry's side.
func (e Entry) Side() Side {
	if e.Amount.IsNegative() {
		return Credit
	}
	return Debit
}

// Transaction is a posted, immutable transaction.
type Transaction struct {
	ID         int64
	Program    string
	Kind       string
	Key        string
	At         time.Time
	Period     string
	Refs       map[string]string
	Metadata   map[string]string
	ReversesID int64
	Hash       []byte
	Entries    []Entry
}

// Balance is an account's balance on its normal side.
type Balance struct {
	Account    string
	NormalSide Side
	Amount     decimal.Decimal
}
