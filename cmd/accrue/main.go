// Command accrue is accrue's command-line client: it talks to a running
// accrued over Connect, and replays conformance scenarios (SPEC §9).
//
//	accrue [--server URL] [--program ID] [--token KEY] [--json] COMMAND [args] [flags]
//
// Flags go anywhere on the line; -h or --help on any command prints its help
// and calls nothing. `accrue help` lists the commands, `accrue completion
// bash|zsh|fish` prints a completion script.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/accrue/accrue/internal/buildinfo"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// cli carries the global flags, the output streams and the clients.
type cli struct {
	server  string
	program string
	token   string
	json    bool
	// out gets the answer; errOut the notes beside it (progress, and with
	// --json the derived key and paging hints, so stdout stays one JSON
	// document).
	out, errOut io.Writer

	ledger   accruev1connect.LedgerServiceClient
	partners accruev1connect.PartnerServiceClient
	tracking accruev1connect.TrackingServiceClient
	orders   accruev1connect.OrderServiceClient
	periods  accruev1connect.PeriodServiceClient
	programs accruev1connect.ProgramServiceClient
	payouts  accruev1connect.PayoutServiceClient
	events   accruev1connect.EventServiceClient
	imports  accruev1connect.ImportServiceClient
	portal   accruev1connect.PortalServiceClient
	products accruev1connect.ProductServiceClient
}

// groups are the constructors of the top-level commands, in help order.
// A command group is one file whose init appends its constructor here.
var groups []func(c *cli) []*cobra.Command

// register adds a group of top-level commands (see groups).
func register(group func(c *cli) []*cobra.Command) { groups = append(groups, group) }

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "accrue:", err)
		os.Exit(1)
	}
}

// run runs one command line, the answer to out and notes to stderr.
func run(ctx context.Context, args []string, out io.Writer) error {
	return execute(ctx, args, out, os.Stderr)
}

// execute runs one command line with the given output streams.
func execute(ctx context.Context, args []string, out, errOut io.Writer) error {
	root := newRoot(&cli{out: out, errOut: errOut})
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// newRoot builds the whole command tree around c.
func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:           "accrue",
		Short:         "accrue's command-line client",
		Long:          "accrue talks to a running accrued over Connect and replays conformance scenarios.\nFlags go anywhere on the line; -h on any command prints its help and calls nothing.",
		Version:       buildinfo.String("accrue"),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			c.connect()
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(c.out)
	root.SetErr(c.errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&c.server, "server", envOr("ACCRUE_SERVER", "http://127.0.0.1:7070"), "accrued base URL (env ACCRUE_SERVER)")
	pf.StringVar(&c.program, "program", envOr("ACCRUE_PROGRAM", "demo"), "program id (env ACCRUE_PROGRAM)")
	pf.StringVar(&c.token, "token", os.Getenv("ACCRUE_TOKEN"), "API key sent as a bearer token (env ACCRUE_TOKEN; also --api-key)")
	pf.BoolVar(&c.json, "json", false, "print JSON instead of tables")
	root.SetGlobalNormalizationFunc(aliasFlags)
	for _, group := range groups {
		root.AddCommand(group(c)...)
	}
	return root
}

// newGroup is a command that only holds subcommands: alone it prints its
// help, and a word that names none of them is an error (not, as cobra's
// default, the help and success).
func newGroup(use, short string, aliases ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Aliases: aliases, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
}

// aliasFlags accepts --addr for --server and --api-key for --token.
func aliasFlags(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "addr":
		name = "server"
	case "api-key":
		name = "token"
	}
	return pflag.NormalizedName(name)
}

// connect makes the clients of c.server; it dials nothing yet.
func (c *cli) connect() {
	h, auth := http.DefaultClient, bearer(c.token)
	server := strings.TrimSuffix(c.server, "/")
	c.ledger = accruev1connect.NewLedgerServiceClient(h, server, auth)
	c.partners = accruev1connect.NewPartnerServiceClient(h, server, auth)
	c.tracking = accruev1connect.NewTrackingServiceClient(h, server, auth)
	c.orders = accruev1connect.NewOrderServiceClient(h, server, auth)
	c.periods = accruev1connect.NewPeriodServiceClient(h, server, auth)
	c.programs = accruev1connect.NewProgramServiceClient(h, server, auth)
	c.payouts = accruev1connect.NewPayoutServiceClient(h, server, auth)
	c.events = accruev1connect.NewEventServiceClient(h, server, auth)
	c.imports = accruev1connect.NewImportServiceClient(h, server, auth)
	c.portal = accruev1connect.NewPortalServiceClient(h, server, auth)
	c.products = accruev1connect.NewProductServiceClient(h, server, auth)
}

// bearer sends token, when given, as the Authorization header of every
// call, unary or streaming (events watch).
func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(bearerToken(token))
}

// bearerToken is the interceptor of bearer.
type bearerToken string

func (t bearerToken) set(h http.Header) {
	if t != "" {
		h.Set("Authorization", "Bearer "+string(t))
	}
}

func (t bearerToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		t.set(req.Header())
		return next(ctx, req)
	}
}

func (t bearerToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		t.set(conn.RequestHeader())
		return conn
	}
}

func (t bearerToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// connectMessage renders a Connect error as "code: message".
func connectMessage(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", ce.Code(), ce.Message())
	}
	return err
}
