package pgembed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/accrue/accrue/internal/pgembed"
)

// A development server: the data dir is created on first use and reused
// afterwards.
func ExampleStart() {
	ctx := context.Background()
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: ".data/postgres"})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Stop(context.WithoutCancel(ctx))
	if err := cluster.CreateDatabase(ctx, "accrue"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cluster.URL("accrue"))
}
