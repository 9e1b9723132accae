package migrations

// GoMigrations is how many migrations are written in Go.
var GoMigrations = len(goMigrations)
