package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
)

// Program is what the journal knows of a program: its currency, time zone
// and the start of its earliest open period.
type Program struct {
	ID       string
	Currency string
	Location *time.Location
	// OpenFrom is the start of the earliest open period: the program's first
	// month until a period is closed. Postings dated earlier are booked in it.
	OpenFrom time.Time
	Scale    int32
}

// PeriodOf returns the calendar month (YYYY-MM) containing t in the
// program's time zone.
func (p *Program) PeriodOf(t time.Time) string { return t.In(p.Location).Format("2006-01") }

// BookingPeriod is where a posting at t is booked: its own month, or the
// earliest open period when that month is closed.
func (p *Program) BookingPeriod(t time.Time) string {
	if !p.OpenFrom.IsZero() && t.Before(p.OpenFrom) {
		return p.PeriodOf(p.OpenFrom)
	}
	return p.PeriodOf(t)
}

// CreateProgram adds a program to the journal, with its accounts, unless it
// exists. An existing program must keep its currency and time zone.
func CreateProgram(ctx context.Context, tx pgx.Tx, id, currency, timezone string, at time.Time) (*Program, error) {
	if _, ok := money.Scale(currency); !ok {
		return nil, fault.InvalidArgument("currency", "unknown currency %q", currency)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return nil, fault.InvalidArgument("timezone", "unknown time zone %q", timezone)
	}
	// The program's first period is the month it is created in: an event
	// dated earlier (a backfill) is booked there, so it is on a statement.
	local := at.In(loc)
	firstPeriod := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	_, err = tx.Exec(ctx, `INSERT INTO programs (id, currency, timezone, open_from, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, id, currency, timezone, firstPeriod, at)
	if err != nil {
		return nil, fmt.Errorf("ledger: creating program %s: %w", id, err)
	}
	p, err := LoadProgram(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if p.Currency != currency {
		return nil, fault.InvalidArgument("currency", "program %s is in %s; a program has one currency", id, p.Currency)
	}
	if p.Location.String() != timezone {
		return nil, fault.InvalidArgument("timezone", "program %s is in time zone %s; it cannot change", id, p.Location)
	}
	return p, nil
}

// LoadProgram reads a program; fault NotFound when it does not exist.
func LoadProgram(ctx context.Context, q Querier, id string) (*Program, error) {
	p, _, err := loadProgramAccounts(ctx, q, id, nil)
	return p, err
}

// accountsByCodeSQL reads the accounts of program $1 named in codes $2 by
// one probe of (program_id, code) each: with = ANY the planner may prefer
// the (program_id, id) index and read every account of the program,
// filtering, while its statistics are young.
const accountsByCodeSQL = `SELECT a.id, a.code, a.normal_side, a.currency, a.shards
	FROM unnest($2::text[]) AS c(code)
	CROSS JOIN LATERAL (SELECT id, code, normal_side, currency, shards FROM accounts
		WHERE program_id = $1 AND code = c.code LIMIT 1) a`

// programAccountsSQL is loadProgramAccounts' statement.
const programAccountsSQL = `SELECT p.currency, p.timezone, p.open_from, a.id, a.code, a.normal_side, a.shards
	FROM programs p LEFT JOIN LATERAL (` + accountsByCodeSQL + `) a ON true
	WHERE p.id = $1`

// loadProgramAccounts reads a program and those of its accounts named in
// codes, in one round trip.
func loadProgramAccounts(ctx context.Context, q Querier, id string, codes []string) (*Program, map[string]Account, error) {
	if codes == nil {
		codes = []string{}
	}
	rows, err := q.Query(ctx, programAccountsSQL, id, codes)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: loading program %s: %w", id, err)
	}
	defer rows.Close()
	var (
		p        *Program
		accounts = make(map[string]Account, len(codes))
	)
	for rows.Next() {
		var (
			currency, tz string
			openFrom     *time.Time
			accountID    *int64
			code         *string
			side, shards *int16
		)
		if err := rows.Scan(&currency, &tz, &openFrom, &accountID, &code, &side, &shards); err != nil {
			return nil, nil, fmt.Errorf("ledger: scanning program %s: %w", id, err)
		}
		if p == nil {
			if p, err = newProgram(id, currency, tz, openFrom); err != nil {
				return nil, nil, err
			}
		}
		if accountID != nil {
			accounts[*code] = Account{ID: *accountID, Program: id, Code: *code, NormalSide: Side(*side), Currency: currency, Shards: int(*shards)}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("ledger: loading program %s: %w", id, err)
	}
	if p == nil {
		return nil, nil, fault.NotFound("program", "no program %q", id)
	}
	return p, accounts, nil
}

func newProgram(id, currency, tz string, openFrom *time.Time) (*Program, error) {
	p := &Program{ID: id, Currency: currency}
	var err error
	if p.Location, err = time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("ledger: program %s time zone: %w", id, err)
	}
	if openFrom != nil {
		p.OpenFrom = *openFrom
	}
	p.Scale, _ = money.Scale(p.Currency)
	return p, nil
}

// OpenAccount creates an account unless it exists; an existing account must
// have the same normal side. recorded is when the journal records a new
// account (created_at, as Posting.Recorded).
func OpenAccount(ctx context.Context, q Querier, program, code string, normal Side, shards int, recorded time.Time) (Account, error) {
	if code == "" || len(code) > AccountLenMax {
		return Account{}, fault.InvalidArgument("code", "an account code has 1 to %d characters", AccountLenMax)
	}
	if normal != Debit && normal != Credit {
		return Account{}, fault.InvalidArgument("normal_side", "must be debit or credit")
	}
	shards = max(1, min(shards, AccountShardsMax))
	if recorded.IsZero() {
		return Account{}, fmt.Errorf("ledger: account %s has no recorded time", code)
	}
	_, err := q.Exec(ctx, `INSERT INTO accounts (program_id, code, normal_side, currency, shards, created_at)
		SELECT id, $2, $3, currency, $4, $5 FROM programs WHERE id = $1
		ON CONFLICT (program_id, code) DO NOTHING`, program, code, int16(normal), shards, recorded)
	if err != nil {
		return Account{}, fmt.Errorf("ledger: opening account %s: %w", code, err)
	}
	accounts, err := loadAccounts(ctx, q, program, []string{code})
	if err != nil {
		return Account{}, err
	}
	a, ok := accounts[code]
	if !ok {
		return Account{}, fault.NotFound("program", "no program %q", program)
	}
	if a.NormalSide != normal {
		return Account{}, fault.AlreadyExists("code", "account %s exists with normal side %s", code, a.NormalSide)
	}
	return a, nil
}

func loadAccounts(ctx context.Context, q Querier, program string, codes []string) (map[string]Account, error) {
	rows, err := q.Query(ctx, `SELECT id, code, normal_side, currency, shards FROM (`+accountsByCodeSQL+`) a`, program, codes)
	if err != nil {
		return nil, fmt.Errorf("ledger: loading accounts: %w", err)
	}
	out := make(map[string]Account, len(codes))
	for rows.Next() {
		a := Account{Program: program}
		var side, shards int16
		if err := rows.Scan(&a.ID, &a.Code, &side, &a.Currency, &shards); err != nil {
			return nil, fmt.Errorf("ledger: scanning account: %w", err)
		}
		a.NormalSide, a.Shards = Side(side), int(shards)
		out[a.Code] = a
	}
	return out, rows.Err()
}

// LockProgram reads a program and takes a share lock on its row, so a period
// close (which updates the row) cannot slip in between deciding a posting's
// booking period and committing it.
func LockProgram(ctx context.Context, tx pgx.Tx, id string) (*Program, error) {
	var (
		r Pipeline
		p *Program
	)
	QueueLockProgram(&r, id, &p)
	if err := r.Send(ctx, tx); err != nil {
		return nil, err
	}
	return p, nil
}

// QueueLockProgram queues LockProgram into r: *out is the program once r
// is sent, and Send fails with fault NotFound when there is none.
func QueueLockProgram(r *Pipeline, id string, out **Program) {
	r.Query(`SELECT currency, timezone, open_from FROM programs WHERE id = $1 FOR SHARE`, []any{id}, func(rows pgx.Rows) error {
		var (
			currency, tz string
			openFrom     *time.Time
		)
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return fmt.Errorf("ledger: locking program %s: %w", id, err)
			}
			return fault.NotFound("program", "no program %q", id)
		}
		if err := rows.Scan(&currency, &tz, &openFrom); err != nil {
			return fmt.Errorf("ledger: locking program %s: %w", id, err)
		}
		p, err := newProgram(id, currency, tz, openFrom)
		*out = p
		return err
	})
}
