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
	// LegsMax bounds the legs of one posting.
	LegsMax = 200
	// KeyLenMax bounds an idempotency key, in bytes.
	KeyLenMax = 200
	// KindLenMax bounds a transaction kind, in bytes.
	KindLenMax = 64
	// MapEntriesMax bounds the entries of a posting's refs or metadata.
	MapEntriesMax = 32
	// MapKeyLenMax bounds a refs or metadata key, in bytes.
	MapKeyLenMax = 64
	// MapValueLenMax bounds a refs or metadata value, in bytes.
	MapValueLenMax = 1024
	// AccountLenMax bounds an account code, in bytes.
	AccountLenMax = 200
	// PageSizeMax bounds the rows one list call returns.
	PageSizeMax = 1000
	// PageSizeDefault is the page size when a caller gives none.
	PageSizeDefault = 100
	// AccountShardsMax bounds the balance rows of one hot account.
	AccountShardsMax = 64
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
