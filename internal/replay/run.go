package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// Output is the replay's JSON document (SPEC §9).
type Output struct {
	Balances     map[string]string        `json:"balances"`
	Partners     map[string]PartnerOutput `json:"partners"`
	Statements   []map[string]any         `json:"statements"`
	Steps        []StepResult             `json:"steps"`
	TrialBalance string                   `json:"trial_balance"`
	Verified     bool                     `json:"verified"`
	Problems     []string                 `json:"problems,omitempty"`
	// StepErrors holds the message of each failed step by index, for
	// Check to say why a step failed; the document itself lists codes only.
	StepErrors map[int]string `json:"-"`
}

// PartnerOutput is a partner's state at the end of a replay.
type PartnerOutput struct {
	Tier   *string `json:"tier"`
	Status string  `json:"status"`
	Parent *string `json:"parent"`
}

type runner struct {
	program string
	clients clients
}

// Run replays sc against db with a simulated clock and returns the output.
// The program gets a fresh id, so runs never share state.
func Run(ctx context.Context, db *txn.DB, sc *Scenario, log *slog.Logger) (*Output, error) {
	if len(sc.Steps) == 0 {
		return nil, errors.New("replay: no steps")
	}
	start := sc.Steps[0].At.Add(-time.Second)
	clk := clock.NewSim(start)
	srv := server.New(db, clk, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("replay: listening: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	r := &runner{program: programID(sc.Name), clients: newClients(http.DefaultClient, "http://"+ln.Addr().String())}
	doc, err := yaml.Marshal(&sc.Program)
	if err != nil {
		return nil, fmt.Errorf("replay: program: %w", err)
	}
	if _, err := r.clients.program.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: r.program, IdempotencyKey: "replay:program", At: timestamppb.New(start), Document: string(doc),
	})); err != nil {
		return nil, fmt.Errorf("replay: program: %w", err)
	}
	out := &Output{Steps: []StepResult{}, StepErrors: map[int]string{}}
	end := start // the latest step time: a late step's own time is earlier
	for i, st := range sc.Steps {
		clk.Set(st.At)
		if st.At.After(end) {
			end = st.At
		}
		if err := r.schedule(ctx, srv, st.At); err != nil {
			return nil, fmt.Errorf("replay: scheduled jobs before step %d: %w", i, err)
		}
		key := st.Key
		if key == "" {
			key = fmt.Sprintf("replay:step:%d", i)
		}
		ce, err := stepError(r.call(ctx, st, key))
		if err != nil {
			return nil, fmt.Errorf("replay: step %d (%s): %w", i, st.Verb, err)
		}
		if ce == nil {
			continue
		}
		out.Steps = append(out.Steps, StepResult{Index: i, OK: false, Code: ce.Code().String()})
		out.StepErrors[i] = ce.Message()
		if st.ExpectError == "" && log != nil {
			log.Info("step failed", "index", i, "verb", st.Verb, "err", ce)
		}
	}
	if err := r.sealAfter(ctx, clk, end); err != nil {
		return nil, err
	}
	// The output is the state at the end of the replay (SPEC §9: a parent
	// is the link in force then), not at a late last step's own time.
	clk.Set(end)
	if err := r.collect(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// schedule runs what accrued's scheduler would have run by at, the clock
// already there: the due closes, then sealing the program's journal
// (GetJournalHead seals), which covers the rows recorded ledger.SealLag
// before at, then advancing the as-of snapshots, so the step's as-of
// reads take the snapshot path.
func (r *runner) schedule(ctx context.Context, srv *server.Server, at time.Time) error {
	if err := srv.RunDueCloses(ctx, at); err != nil {
		return err
	}
	if err := r.seal(ctx); err != nil {
		return err
	}
	if err := srv.Snapshot(ctx); err != nil {
		return fmt.Errorf("replay: snapshot: %w", err)
	}
	return nil
}

func (r *runner) seal(ctx context.Context) error {
	if _, err := r.clients.ledger.GetJournalHead(ctx, connect.NewRequest(&accruev1.GetJournalHeadRequest{Program: r.program})); err != nil {
		return fmt.Errorf("replay: sealing: %w", err)
	}
	return nil
}

// sealAfter seals the journal as the scheduler would once the latest step,
// at end, is past ledger.SealLag, so every row is sealed when the journal
// is verified: a late step's rows, recorded at its earlier time, come
// after the latest step's in id order and are sealed only behind them. No
// close runs then: the output is the state at end.
func (r *runner) sealAfter(ctx context.Context, clk *clock.Sim, end time.Time) error {
	clk.Set(end.Add(ledger.SealLag + time.Second))
	return r.seal(ctx)
}

// stepError sorts a step's outcome: nil for success, the *connect.Error of
// a step the server (or invalidStep) refused, or err itself when the replay
// cannot go on: a server fault (internal, unknown) or an error outside the
// API, such as a lost connection.
func stepError(err error) (*connect.Error, error) {
	if err == nil {
		return nil, nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() == connect.CodeInternal || ce.Code() == connect.CodeUnknown {
		return nil, err
	}
	return ce, nil
}

// programID is the scenario's name plus a random suffix.
func programID(name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
	if clean == "" {
		clean = "scenario"
	}
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return clean + "-" + hex.EncodeToString(b)
}

// collect reads balances, partners, statements and the journal's health.
func (r *runner) collect(ctx context.Context, out *Output) error {
	c := r.clients
	tb, err := c.ledger.GetTrialBalance(ctx, connect.NewRequest(&accruev1.GetTrialBalanceRequest{Program: r.program}))
	if err != nil {
		return fmt.Errorf("replay: trial balance: %w", err)
	}
	out.TrialBalance = tb.Msg.GetTotal()
	out.Balances = map[string]string{}
	for _, b := range tb.Msg.GetBalances() {
		if strings.Trim(b.GetBalance(), "-0.") != "" {
			out.Balances[b.GetAccount()] = b.GetBalance()
		}
	}
	out.Partners = map[string]PartnerOutput{}
	for token := ""; ; {
		ps, err := c.partner.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: r.program, PageToken: token, PageSize: 1000}))
		if err != nil {
			return fmt.Errorf("replay: partners: %w", err)
		}
		for _, p := range ps.Msg.GetPartners() {
			po := PartnerOutput{Status: "active"}
			if p.GetTier() != "" {
				tier := p.GetTier()
				po.Tier = &tier
			}
			if p.GetStatus() == accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED {
				po.Status = "suspended"
			}
			if p.GetParent() != "" {
				parent := p.GetParent()
				po.Parent = &parent
			}
			out.Partners[p.GetId()] = po
		}
		if token = ps.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	out.Statements = []map[string]any{}
	for token := ""; ; {
		st, err := c.period.ListStatements(ctx, connect.NewRequest(&accruev1.ListStatementsRequest{Program: r.program, PageToken: token, PageSize: 1000}))
		if err != nil {
			return fmt.Errorf("replay: statements: %w", err)
		}
		for _, s := range st.Msg.GetStatements() {
			out.Statements = append(out.Statements, statementOutput(s))
		}
		if token = st.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	v, err := c.ledger.VerifyJournal(ctx, connect.NewRequest(&accruev1.VerifyJournalRequest{Program: r.program}))
	if err != nil {
		return fmt.Errorf("replay: verify: %w", err)
	}
	out.Verified, out.Problems = v.Msg.GetOk(), v.Msg.GetProblems()
	return nil
}

func statementOutput(s *accruev1.Statement) map[string]any {
	bal := func(b *accruev1.StatementBalances) map[string]any {
		return map[string]any{"pending": b.GetPending(), "accrued": b.GetAccrued(), "payable": b.GetPayable()}
	}
	return map[string]any{
		"partner": s.GetPartner(), "period": s.GetPeriod(), "status": s.GetStatus(), "released": s.GetReleased(),
		"due_date": s.GetDueDate(), "opening": bal(s.GetOpening()), "closing": bal(s.GetClosing()),
	}
}
