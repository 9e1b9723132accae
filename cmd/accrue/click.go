package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// clicksMax is RecordClicks' batch limit, and so the most clicks one file
// may hold.
const clicksMax = 1000

// clickFileMax bounds a clicks file: a thousand clicks of a few kilobytes.
const clickFileMax = 4 << 20

func init() { register(trackingCommands) }

// trackingCommands are `accrue click`, `accrue clicks` and `accrue stats`:
// TrackingService.
func trackingCommands(c *cli) []*cobra.Command {
	return []*cobra.Command{c.click(), c.clicks(), c.stats()}
}

func (c *cli) click() *cobra.Command {
	req := new(accruev1.RecordClickRequest)
	cmd := &cobra.Command{Use: "click CODE VISITOR", Short: "record a click on a partner's link (CODE: its code or id)", Args: cobra.ExactArgs(2)}
	utmFlags(cmd, &req.UtmSource, &req.UtmMedium, &req.UtmCampaign)
	cmd.Flags().StringVar(&req.Landing, "landing", "", "landing page")
	cmd.Flags().StringVar(&req.Banner, "banner", "", "the banner clicked")
	key, at := keyFlag(cmd, "a new one per run, so each run records a click"), atFlag(cmd, "when the click happened")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if req.At, err = parseTime("at", *at); err != nil {
			return err
		}
		req.Program, req.Partner, req.Visitor = c.program, args[0], args[1]
		req.IdempotencyKey = c.idempotencyKey(*key, randomKey("click"))
		resp, err := c.tracking.RecordClick(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(resp.Msg, resp.Msg.GetReplayed(), func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "click %d\tpartner %s\treplayed=%v\n", resp.Msg.GetClickId(), resp.Msg.GetPartner(), resp.Msg.GetReplayed())
		})
	}
	return cmd
}

func (c *cli) clicks() *cobra.Command {
	cmd := &cobra.Command{Use: "clicks FILE", Short: "record up to 1,000 clicks from FILE (- for stdin): one RecordClick JSON object a line", Args: cobra.ExactArgs(1),
		Long: "Each line is a RecordClickRequest in JSON, e.g.\n  {\"partner\": \"CAROL\", \"visitor\": \"v-1\", \"utmSource\": \"ads\", \"at\": \"2026-11-02T10:00:00Z\"}\n" +
			"A click without idempotencyKey gets one derived from the file's content and its line, so running the same file again is a safe retry."}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		clicks, err := readClicks(args[0])
		if err != nil {
			return err
		}
		resp, err := c.tracking.RecordClicks(cmd.Context(), connect.NewRequest(&accruev1.RecordClicksRequest{Program: c.program, Clicks: clicks}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) { clickResults(w, resp.Msg.GetResults()) })
	}
	return cmd
}

// readClicks reads a clicks file, deriving the keys a click lacks.
func readClicks(path string) ([]*accruev1.RecordClickRequest, error) {
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("clicks: %w", err)
		}
		defer f.Close()
	}
	b, err := readAllLimited(f, clickFileMax)
	if err != nil {
		return nil, fmt.Errorf("clicks %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	var clicks []*accruev1.RecordClickRequest
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, clickFileMax)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if len(clicks) == clicksMax {
			return nil, fmt.Errorf("clicks %s: more than %d clicks; split the file", path, clicksMax)
		}
		click := new(accruev1.RecordClickRequest)
		if err := protojson.Unmarshal(sc.Bytes(), click); err != nil {
			return nil, fmt.Errorf("clicks %s:%d: %w", path, line, err)
		}
		if click.IdempotencyKey == "" {
			click.IdempotencyKey = derivedKey("clicks", hex.EncodeToString(sum[:8]), strconv.Itoa(line))
		}
		clicks = append(clicks, click)
	}
	return clicks, sc.Err()
}

// readAllLimited reads r whole, refusing more than limit bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("over the %d-byte limit", limit)
	}
	return b, nil
}

// clickResults shows one row per click of a batch.
func clickResults(w *tabwriter.Writer, results []*accruev1.ClickResult) {
	fmt.Fprintln(w, "#\tRESULT\tCLICK\tPARTNER\tDETAIL")
	for i, r := range results {
		if e := r.GetError(); e != nil {
			fmt.Fprintf(w, "%d\trefused\t\t\t%s %s: %s\n", i+1, e.GetCode(), e.GetField(), e.GetMessage())
			continue
		}
		cl, result := r.GetClick(), "recorded"
		if cl.GetReplayed() {
			result = "replayed"
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t\n", i+1, result, cl.GetClickId(), cl.GetPartner())
	}
}

func (c *cli) stats() *cobra.Command {
	req := new(accruev1.GetStatsRequest)
	cmd := &cobra.Command{Use: "stats", Short: "clicks, visitors, orders, revenue and commission per partner, UTM source and month", Args: cobra.NoArgs}
	cmd.Flags().StringVar(&req.Partner, "partner", "", "one partner's rows")
	cmd.Flags().StringVar(&req.FromMonth, "from", "", "first month, YYYY-MM")
	cmd.Flags().StringVar(&req.ToMonth, "to", "", "last month, YYYY-MM")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req.Program = c.program
		resp, err := c.tracking.GetStats(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(resp.Msg, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "PARTNER\tMONTH\tUTM SOURCE\tCLICKS\tVISITORS\tORDERS\tREVENUE\tCOMMISSION\tCONVERSION")
			for _, r := range resp.Msg.GetRows() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", r.GetPartner(), r.GetMonth(), r.GetUtmSource(), r.GetClicks(),
					r.GetUniqueVisitors(), r.GetOrders(), r.GetRevenue(), r.GetCommission(), r.GetConversionRate())
			}
		})
	}
	return cmd
}
