package main

import (
	"bufio"
	"bytes"
	"context"
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
	"google.golang.org/protobuf/reflect/protoreflect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(importCommands) }

// Bounds of an import call as the CLI sends it: the server takes 1,000
// events and 1 MiB a call; the JSON of a chunk is kept well under that
// (the binary message sent is smaller than its JSON).
const (
	importChunkEvents = 1000
	importChunkBytes  = 768 << 10
	// importLineMax bounds one line of an import file.
	importLineMax = 1 << 20
)

// importCommands is `accrue import begin|send FILE|finish`: ImportService.
func importCommands(c *cli) []*cobra.Command {
	cmd := newGroup("import", "import a program's history: begin (holds the closes), send FILE, finish (runs the held closes)")
	cmd.AddCommand(c.importBegin(), c.importSend(), c.importFinish())
	return []*cobra.Command{cmd}
}

func (c *cli) importBegin() *cobra.Command {
	cmd := &cobra.Command{Use: "begin", Short: "start importing: the program's closes are held until finish", Args: cobra.NoArgs}
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := c.imports.BeginImport(cmd.Context(), connect.NewRequest(&accruev1.BeginImportRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("import-begin"))}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) {
			if r.Msg.GetBegun() {
				fmt.Fprintf(w, "importing %s: closes held until import finish\n", c.program)
			} else {
				fmt.Fprintf(w, "%s was already importing\n", c.program)
			}
		})
	}
	return cmd
}

func (c *cli) importFinish() *cobra.Command {
	cmd := &cobra.Command{Use: "finish", Short: "end the import and run the closes it held; prints the open period", Args: cobra.NoArgs}
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := c.imports.FinishImport(cmd.Context(), connect.NewRequest(&accruev1.FinishImportRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("import-finish"))}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "import finished; open period %s\n", r.Msg.GetOpenPeriod())
		})
	}
	return cmd
}

func (c *cli) importSend() *cobra.Command {
	cmd := &cobra.Command{Use: "send FILE", Short: "send FILE's events (- for stdin), one ImportEvent JSON object a line, 1,000 a call",
		Args: cobra.ExactArgs(1),
		Long: "Each line is an ImportEvent in JSON, e.g.\n  {\"payOrder\": {\"order\": \"o-1\", \"at\": \"2025-03-02T10:00:00Z\", \"lines\": [{\"product\": \"bag\", \"amount\": \"10.00\"}]}}\n" +
			"Events go in calls of up to 1,000 (each call all or nothing). An event without idempotencyKey gets one derived from the\n" +
			"file's content and its line, so sending the same file again replays it; a refused call stops the send, naming its lines."}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sum, err := fileHash(args[0])
		if err != nil {
			return err
		}
		f, err := openInput(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		total, err := c.sendImport(cmd.Context(), f, args[0], sum)
		if err != nil {
			return err
		}
		return c.show(total, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "sent %d events: applied %d, replayed %d\n", total.GetApplied()+total.GetReplayed(), total.GetApplied(), total.GetReplayed())
		})
	}
	return cmd
}

// openInput opens path, or stdin for "-".
func openInput(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return f, nil
}

// fileHash is the first 8 bytes of path's SHA-256, in hex, for derived
// keys; stdin (which cannot be read twice) has none.
func fileHash(path string) (string, error) {
	if path == "-" {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("import %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// sendImport reads r's events and sends them in chunks, printing each
// call's counts as a note; it returns the totals.
func (c *cli) sendImport(ctx context.Context, r io.Reader, name, sum string) (*accruev1.ImportEventsResponse, error) {
	total := new(accruev1.ImportEventsResponse)
	var chunk []*accruev1.ImportEvent
	size, first := 0, 1
	flush := func(last int) error {
		if len(chunk) == 0 {
			return nil
		}
		resp, err := c.imports.ImportEvents(ctx, connect.NewRequest(&accruev1.ImportEventsRequest{Program: c.program, Events: chunk}))
		if err != nil {
			return fmt.Errorf("import %s lines %d-%d (nothing of them written): %w", name, first, last, connectMessage(err))
		}
		total.Applied += resp.Msg.GetApplied()
		total.Replayed += resp.Msg.GetReplayed()
		c.note("lines %d-%d: %d events, applied %d, replayed %d", first, last, len(chunk), resp.Msg.GetApplied(), resp.Msg.GetReplayed())
		chunk, size, first = nil, 0, last+1
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, importLineMax)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(chunk) == importChunkEvents || size+len(b) > importChunkBytes {
			if err := flush(line - 1); err != nil {
				return nil, err
			}
		}
		if len(b) == 0 {
			continue
		}
		ev, err := parseImportEvent(b, sum, line)
		if err != nil {
			return nil, fmt.Errorf("import %s:%d: %w", name, line, err)
		}
		chunk, size = append(chunk, ev), size+len(b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("import %s after line %d: %w", name, line, err)
	}
	return total, flush(line)
}

// parseImportEvent reads one line; an event without a key gets
// cli:import:<file hash>:<line> (none for stdin: the server refuses it).
func parseImportEvent(b []byte, sum string, line int) (*accruev1.ImportEvent, error) {
	ev := new(accruev1.ImportEvent)
	if err := protojson.Unmarshal(b, ev); err != nil {
		return nil, err
	}
	m := ev.ProtoReflect()
	set := m.WhichOneof(m.Descriptor().Oneofs().ByName("event"))
	if set == nil {
		return nil, fmt.Errorf("no event: want one of registerPartner, recordClick, payOrder, completeOrder, refundOrder, amendOrder, cancelOrder")
	}
	inner := m.Get(set).Message()
	if key := inner.Descriptor().Fields().ByName("idempotency_key"); key != nil && inner.Get(key).String() == "" && sum != "" {
		inner.Set(key, protoreflect.ValueOfString(derivedKey("import", sum, strconv.Itoa(line))))
	}
	return ev, nil
}
