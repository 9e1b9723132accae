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
// half-million keys, one ran through the import case). The load
// program's partners are set up before it (Run), so their rows are
// analyzed too. A failure is logged and the case runs anyway.
func (r *run) settle(ctx context.Context, before string) {
	start := time.Now()
	if err := vacuum(ctx, r.owner); err != nil {
		r.logf("not vacuumed before %s: %v", before, err)
		return
	}
	r.logf("vacuumed and analyzed before %s in %v", before, time.Since(start).Round(time.Millisecond))
}

// vacuum runs VACUUM (ANALYZE) on the database at url.
func vacuum(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE)")
	return err
}
