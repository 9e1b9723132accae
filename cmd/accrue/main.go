// Command accrue is accrue's command-line client: it talks to a running
// accrued over Connect, and replays conformance scenarios (SPEC §9).
//
//	accrue [--server URL] [--program ID] [--token KEY] [--json] COMMAND [flags] [args]
//
// Commands: replay, post, balance, entries, trial-balance, verify, journal, migrate, partner,
// click, order, close, statement, payout, spend, bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// cli carries the global flags and the clients.
type cli struct {
	server  string
	program string
	json    bool
	out     io.Writer

	ledger   accruev1connect.LedgerServiceClient
	partners accruev1connect.PartnerServiceClient
	tracking accruev1connect.TrackingServiceClient
	orders   accruev1connect.OrderServiceClient
	periods  accruev1connect.PeriodServiceClient
	programs accruev1connect.ProgramServiceClient
	payouts  accruev1connect.PayoutServiceClient
}

type command struct {
	name, usage string
	run         func(ctx context.Context, c *cli, args []string) error
}

var commands = []command{
	{"replay", "replay [--check] [--database-url URL] FILE...   run scenarios on a fresh program", runReplay},
	{"post", "post --key K --kind KIND ACCOUNT:debit|credit:AMOUNT...   post a transaction", runPost},
	{"balance", "balance [--as-of RFC3339] [ACCOUNT...]   balances on each account's normal side", runBalance},
	{"entries", "entries ACCOUNT   an account's entries", runEntries},
	{"trial-balance", "trial-balance [--as-of RFC3339]   every balance and their signed sum", runTrialBalance},
	{"verify", "verify [--head FILE] [--public-key B64]   check the hash chain, seal signatures and stored balances; with --head, that the journal still contains that head", runVerify},
	{"journal", "journal head   print the journal's latest signed head (JSON), to save for verify --head", runJournal},
	{"migrate", "migrate --database-url OWNER_URL   apply the schema migrations as the schema owner", runMigrate},
	{"partner", "partner register|get ID [--parent P] [--code C] [--customer C]", runPartner},
	{"click", "click CODE VISITOR [--utm-source S]   record a click", runClick},
	{"order", "order pay|get ORDER [--customer C] [--visitor V] [--code C] [--line product=amount]...", runOrder},
	{"close", "close PERIOD   close a month (YYYY-MM)", runClose},
	{"period", "period close|get PERIOD   close a month with progress on stderr, or read its status and progress", runPeriod},
	{"statement", "statement PARTNER PERIOD [--csv]   a partner's statement", runStatement},
	{"payout", "payout create|settle|fail ID [--partner P --amount A --allow-advance --method M] | payout list PARTNER [--private]", runPayout},
	{"spend", "spend ID --partner P --amount A [--order O]   spend earnings as store credit", runSpend},
	{"bench", "bench [--quick | --preset tiny|quick|medium|full] [--close-partners N,M] [--accrued BIN]   end-to-end benchmark on its own PostgreSQL and accrued", runBench},
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "accrue:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("accrue", flag.ContinueOnError)
	c := &cli{out: out}
	fs.StringVar(&c.server, "server", envOr("ACCRUE_SERVER", "http://127.0.0.1:7070"), "accrued base URL (env ACCRUE_SERVER)")
	fs.StringVar(&c.program, "program", envOr("ACCRUE_PROGRAM", "demo"), "program id (env ACCRUE_PROGRAM)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of tables")
	token := fs.String("token", os.Getenv("ACCRUE_TOKEN"), "API key sent as a bearer token (env ACCRUE_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: accrue [--server URL] [--program ID] [--token KEY] [--json] COMMAND ...")
		for _, cmd := range commands {
			fmt.Fprintln(fs.Output(), "  accrue", cmd.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	h, auth := http.DefaultClient, bearer(*token)
	c.ledger = accruev1connect.NewLedgerServiceClient(h, c.server, auth)
	c.partners = accruev1connect.NewPartnerServiceClient(h, c.server, auth)
	c.tracking = accruev1connect.NewTrackingServiceClient(h, c.server, auth)
	c.orders = accruev1connect.NewOrderServiceClient(h, c.server, auth)
	c.periods = accruev1connect.NewPeriodServiceClient(h, c.server, auth)
	c.programs = accruev1connect.NewProgramServiceClient(h, c.server, auth)
	c.payouts = accruev1connect.NewPayoutServiceClient(h, c.server, auth)
	name := fs.Arg(0)
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd.run(ctx, c, fs.Args()[1:])
		}
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", name)
}

// bearer sends token, when given, as the Authorization header of every call.
func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	}))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// show prints msg as JSON with --json, else through table.
func (c *cli) show(msg proto.Message, table func(w *tabwriter.Writer)) error {
	if c.json || table == nil {
		b, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: false}.Marshal(msg)
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintln(c.out, string(b))
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// connectMessage renders a Connect error as "code: message".
func connectMessage(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", ce.Code(), ce.Message())
	}
	return err
}
