package bench

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// settle vacuums and analyzes accrued's database before a load case: the
// case then starts as the ceiling does, on tables without the previous
// case's dead rows and with statistics that know its rows, and no
// autovacuum of those rows runs beside it (after the click cases'
// half-million keys, one ran through the import case). A failure is
// logged and the case runs anyway.
func (r *run) settle(ctx context.Context, before string) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, r.owner)
	if err != nil {
		r.logf("not vacuumed before %s: %v", before, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		r.logf("not vacuumed before %s: %v", before, err)
		return
	}
	r.logf("vacuumed and analyzed before %s in %v", before, time.Since(start).Round(time.Millisecond))
}
