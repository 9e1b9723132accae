package main

import (
	"fmt"
	"github.com/accrue/accrue/internal/webhook"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/accrue/accrue/internal/buildinfo"
	"github.com/accrue/accrue/internal/server"
)

// envPrefix prefixes the environment variable of every flag: --max-in-flight
// is ACCRUE_MAX_IN_FLIGHT. A flag on the command line wins.
const envPrefix = "ACCRUE_"

// config is accrued's command line.
type config struct {
	listen, dbURL, migrateURL, dataDir string
	keyFile, keysFile                  string
	loadDemo                           bool
	inFlightMax                        int
	logFormat, logLevel                string
	corsOrigins                        []string
	tlsCert, tlsKey                    string
	webhooks                           webhook.Options
	clickEvents                        bool
	debugListen                        string
}

// newCommand is accrued's root command; serve runs the server with the
// parsed configuration and a logger made from it.
func newCommand(getenv func(string) string, serve func(cfg config, log *slog.Logger) error) *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:   "accrued",
		Short: "The accrue server: Connect, gRPC and gRPC-Web on one port, the statements scheduler, /metrics",
		Long: "accrued serves accrue's API over HTTP/1.1 and h2c (or TLS) on one port, runs the statements\n" +
			"scheduler, and with no --database-url starts an embedded PostgreSQL with a demo program.\n" +
			"Every flag is also read from " + envPrefix + "<FLAG> (upper case, dashes as underscores);\n" +
			"a flag on the command line wins. SIGHUP reloads --api-keys. See docs/operations.md.",
		Version:       buildinfo.Version(),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), getenv); err != nil {
				return err
			}
			log, err := newLogger(cmd.ErrOrStderr(), cfg.logFormat, cfg.logLevel)
			if err != nil {
				return err
			}
			return serve(cfg, log)
		},
	}
	cmd.SetVersionTemplate(buildinfo.String("accrued") + "\n")
	defineFlags(cmd.Flags(), &cfg)
	cmd.Flags().VisitAll(func(f *pflag.Flag) { f.Usage += " (env " + envName(f.Name) + ")" })
	return cmd
}

// defineFlags declares every flag of cfg on fs.
func defineFlags(fs *pflag.FlagSet, c *config) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:7070", "address to serve on")
	fs.StringVar(&c.dbURL, "database-url", "", "PostgreSQL or CockroachDB URL; empty = embedded PostgreSQL; see --migrate-database-url")
	fs.StringVar(&c.migrateURL, "migrate-database-url", "", "the schema owner's URL, used only to migrate; with it, --database-url is the application's (user accrue_app)")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory of the embedded PostgreSQL (default .data, or "+fallbackDataDir+" when root's postgres user cannot reach .data)")
	fs.BoolVar(&c.loadDemo, "demo", true, "load the demo program into an embedded database")
	fs.StringVar(&c.keyFile, "signing-key", "", "Ed25519 key (PKCS #8 PEM) that signs the journal's seal heads, created if missing; keep it out of the database and its backups; default with the embedded database: "+signingKeyFile+" beside its data dir; required otherwise")
	fs.StringVar(&c.keysFile, "api-keys", "", "file of API keys: TOKEN ROLE PROGRAM [PARTNER] a line, reloaded on SIGHUP; empty = every call allowed")
	fs.IntVar(&c.inFlightMax, "max-in-flight", server.InFlightMaxDefault, "requests served at once; beyond it resource_exhausted at once")
	fs.BoolVar(&c.webhooks.AllowPrivate, "webhooks-allow-private", false, "let webhooks reach private, loopback and link-local addresses (for tests and private networks)")
	fs.BoolVar(&c.clickEvents, "click-events", false, "write a click.recorded event per click (off: clicks are most of the traffic)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "lowest level logged: debug, info, warn or error")
	fs.StringSliceVar(&c.corsOrigins, "cors-origin", nil, "origin a browser app may call from (repeatable or comma-separated; * for any); none = no CORS")
	fs.StringVar(&c.debugListen, "debug-listen", "", "address of a second listener serving Go's /debug/pprof/ (loopback only; empty = none)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve TLS with; needs --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
}

// envName is the environment variable of flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// environment variable, when that is set and not empty.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), serr)
			}
		}
	})
	return err
}

// newLogger is the logger of --log-format and --log-level, writing to w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// legacyArgs rewrites the single-dash long flags the standard flag package
// accepted (-listen ADDR, -demo=false) as pflag's double-dash ones, so that
// command lines written for earlier versions keep working. Arguments after
// "--" are left alone.
func legacyArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && fs.Lookup(name) != nil {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}
