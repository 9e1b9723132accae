package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/accrue/accrue/internal/pgembed"
)

// Databases of the bench cluster.
const (
	accrueDatabase  = "accrue"
	ceilingDatabase = "ceiling"
)

// cluster is the run's own PostgreSQL.
type cluster struct {
	pg         *pgembed.Cluster
	accrueURL  string // the owner's URL of accrued's database
	ceilingURL string // the owner's URL of the ceiling's scratch database
	logf       func(string, ...any)
}

// startCluster starts a private PostgreSQL in dataDir with one database
// for accrued and one for the ceiling, so the two never share tables.
func startCluster(ctx context.Context, dataDir string, logf func(string, ...any)) (*cluster, error) {
	logf("starting PostgreSQL in %s", dataDir)
	pg, err := pgembed.Start(ctx, pgembed.Options{DataDir: dataDir})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	c := &cluster{pg: pg, logf: logf}
	for name, url := range map[string]*string{accrueDatabase: &c.accrueURL, ceilingDatabase: &c.ceilingURL} {
		if *url, err = pgembed.CreateDatabaseAt(ctx, pg.URL("postgres"), name); err != nil {
			c.stop()
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return c, nil
}

func (c *cluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.pg.Stop(ctx); err != nil {
		c.logf("stopping PostgreSQL: %v", err)
	}
}
