package ledger

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// AccountCacheMax bounds the accounts an AccountCache holds: some 50 MB
// of heap, the accounts an order touches (sales, earnings and the
// upline's earnings) of about 100,000 partners.
const AccountCacheMax = 250_000

// AccountCache remembers accounts a process has seen committed, by
// program and code, so a batch that posts to them does not read them
// again. An account never changes once opened (its id, code, normal
// side, currency and shards; the application role cannot delete one,
// and Verify reports a row changed behind its back), so a remembered
// account stays right. Only accounts read by a transaction that then
// committed may be remembered (Owed.Fetched after commit): one opened by
// a transaction that rolled back does not exist, and an entry posted to
// its id would name no account. The zero value is not usable; a nil
// *AccountCache remembers nothing.
type AccountCache struct {
	mu  sync.RWMutex
	max int
	m   map[accountRef]Account
}

type accountRef struct{ program, code string }

// NewAccountCache returns an empty cache of at most max accounts (at
// most AccountCacheMax); when full, it forgets every account before it
// remembers more.
func NewAccountCache(max int) *AccountCache {
	return &AccountCache{max: min(max, AccountCacheMax), m: map[accountRef]Account{}}
}

// Remember adds accounts that a committed transaction read.
func (c *AccountCache) Remember(accounts []Account) {
	if c == nil || len(accounts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(accounts) > c.max {
		clear(c.m)
	}
	for _, a := range accounts[:min(len(accounts), c.max)] {
		c.m[accountRef{a.Program, a.Code}] = a
	}
}

// Len is how many accounts c holds.
func (c *AccountCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// split returns the accounts of codes (distinct) that c holds, and the
// codes it does not.
func (c *AccountCache) split(program string, codes []string) (map[string]Account, []string) {
	known := make(map[string]Account, len(codes))
	if c == nil {
		return known, codes
	}
	var missing []string
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, code := range codes {
		if a, ok := c.m[accountRef{program, code}]; ok {
			known[code] = a
		} else {
			missing = append(missing, code)
		}
	}
	return known, missing
}

// accountsIn returns the accounts of codes (distinct) of journal's
// program: those cache holds, and the others read in tx, in one round
// trip or none. fetched are the accounts it read.
func accountsIn(ctx context.Context, tx pgx.Tx, journal *Program, cache *AccountCache, codes []string) (accounts map[string]Account, fetched []Account, err error) {
	accounts, missing := cache.split(journal.ID, codes)
	if len(missing) == 0 {
		return accounts, nil, nil
	}
	read, err := loadAccounts(ctx, tx, journal.ID, missing)
	if err != nil {
		return nil, nil, err
	}
	for code, a := range read {
		accounts[code] = a
		fetched = append(fetched, a)
	}
	return accounts, fetched, nil
}
