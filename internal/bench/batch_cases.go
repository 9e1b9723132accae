package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// importers is how many programs are imported into at once, and the
// connections the import uses.
const importers = 4

// batchClickCase records clicks with RecordClicks, opts.ClickBatch a call,
// when the server has it.
func (r *run) batchClickCase(ctx context.Context, c *api, singleRate float64) {
	batch := r.opts.ClickBatch
	f := Figure{ID: "batch_clicks_per_s", Unit: "clicks/s", Target: "≥ 10× RecordClick",
		Name: fmt.Sprintf("RecordClicks, %d clicks a call, %d connections", batch, r.opts.ClickConns)}
	m := findMethod("RecordClicks")
	if m == nil {
		r.skip(f, "not implemented yet (no RecordClicks in the descriptors)")
		return
	}
	field := repeatedMessageField(m.Input())
	if field == nil || m.IsStreamingClient() || m.IsStreamingServer() {
		r.skip(f, "RecordClicks has a shape this harness does not know: extend internal/bench/batch_cases.go")
		return
	}
	url := c.baseURL + procedure(m)
	r.logf("RecordClicks at %d connections for %v", r.opts.ClickConns, r.opts.Duration)
	from := readWAL(ctx, r.owner)
	res := runLoad(ctx, r.opts.ClickConns, r.opts.Duration, batch, func(ctx context.Context, seq int64) error {
		clicks := make([]json.RawMessage, batch)
		for k := range clicks {
			clicks[k] = clickBody(seq*int64(batch)+int64(k)+1<<40, partnerCode(rand.IntN(r.opts.Partners)))
		}
		body := listBody(loadProgram, field.JSONName(), clicks)
		return callUnaryJSON(ctx, c.http, url, body)
	})
	r.recordRate(f, res, singleRate, "RecordClick")
	r.addWAL("batch_clicks", "RecordClicks", "click", walBetween(from, readWAL(ctx, r.owner), res.items))
}

// recordRate adds a rate figure from res, compared with the ceiling and
// with base (the single-event rate named baseName).
func (r *run) recordRate(f Figure, res loadResult, base float64, baseName string) {
	if errors.Is(res.firstErr, errUnimplemented) {
		r.skip(f, "not implemented yet (the server answers unimplemented)")
		return
	}
	if err := res.err(); err != nil {
		r.failAll(err, f)
		return
	}
	f.Value, f.Ratio = res.perSecond(), r.ratio(res.perSecond())
	f.Note = fmt.Sprintf("%d in %v", res.items, res.elapsed.Round(time.Millisecond))
	if base > 0 {
		f.Note += fmt.Sprintf("; %.1f× %s", f.Value/base, baseName)
	}
	r.report.add(f)
	r.logf("%s: %.0f %s", f.Name, f.Value, f.Unit)
}

func (r *run) skip(f Figure, why string) {
	f.Skipped = why
	r.report.add(f)
	r.logf("%s: skipped: %s", f.Name, why)
}

// importShape is where ImportEvents takes its events: the message an event
// is, and its fields for each kind of event.
type importShape struct {
	method    protoreflect.MethodDescriptor
	streaming bool
	// list holds the events of one message; nil for a stream of events.
	list                  protoreflect.FieldDescriptor
	event                 protoreflect.MessageDescriptor
	partner, click, order protoreflect.FieldDescriptor
}

// findImportShape reads ImportEvents' descriptors: a client stream of
// events, or a unary call with a repeated field of them, where an event
// has one field per kind whose message is the single-event request
// (RegisterPartnerRequest, RecordClickRequest, PayOrderRequest) or is named
// after the kind.
func findImportShape() (*importShape, string) {
	m := findMethod("ImportEvents")
	if m == nil {
		return nil, "not implemented yet (no ImportEvents in the descriptors)"
	}
	s := &importShape{method: m, event: m.Input(), streaming: m.IsStreamingClient()}
	if !s.streaming {
		if s.list = repeatedMessageField(m.Input()); s.list == nil {
			return nil, "ImportEvents has no repeated event field: extend internal/bench/batch_cases.go"
		}
		s.event = s.list.Message()
	}
	if f := repeatedMessageField(s.event); s.streaming && f != nil {
		s.list, s.event = f, f.Message() // a stream of batches
	}
	s.partner = kindField(s.event, (&accruev1.RegisterPartnerRequest{}).ProtoReflect().Descriptor(), "partner")
	s.click = kindField(s.event, (&accruev1.RecordClickRequest{}).ProtoReflect().Descriptor(), "click")
	s.order = kindField(s.event, (&accruev1.PayOrderRequest{}).ProtoReflect().Descriptor(), "order")
	if s.partner == nil || s.click == nil || s.order == nil {
		return nil, "ImportEvents' event has no recognisable partner/click/order fields: extend internal/bench/batch_cases.go"
	}
	return s, ""
}

// kindField is md's field whose message is want, else the first message
// field whose name contains word.
func kindField(md, want protoreflect.MessageDescriptor, word string) protoreflect.FieldDescriptor {
	var byName protoreflect.FieldDescriptor
	for i := range md.Fields().Len() {
		f := md.Fields().Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() {
			continue
		}
		if f.Message().FullName() == want.FullName() {
			return f
		}
		if byName == nil && containsWord(string(f.Name()), word) {
			byName = f
		}
	}
	return byName
}

// containsWord reports whether word is name or one of its _-separated
// first or last parts ("partner", "register_partner", "order_event").
func containsWord(name, word string) bool {
	return name == word || strings.HasPrefix(name, word+"_") || strings.HasSuffix(name, "_"+word)
}

// importCase imports batches of past events (a tenth partner
// registrations, then clicks and orders to those partners) into
// `importers` programs at once, on `importers` connections.
func (r *run) importCase(ctx context.Context) {
	batch := r.opts.ImportBatch
	f := Figure{ID: "import_events_per_s", Unit: "events/s", Target: "≥ 5× the single-event rate",
		Name: fmt.Sprintf("ImportEvents, %d events a call, %d importers", batch, importers)}
	s, why := findImportShape()
	if s == nil {
		r.skip(f, why)
		return
	}
	for k := range importers {
		if err := r.createProgram(ctx, importProgram(k)); err != nil {
			r.failAll(err, f)
			return
		}
		if err := r.beginImport(ctx, importProgram(k)); err != nil {
			r.failAll(err, f)
			return
		}
	}
	c := r.api.withConns(importers)
	url := c.baseURL + procedure(s.method)
	r.logf("ImportEvents with %d importers for %v", importers, r.opts.Duration)
	// A call's events stand alone (its partners are registered in it), but
	// an import's events come in time order: each call takes a program no
	// other call holds, and dates its events after that program's last
	// call's.
	free, calls := make(chan int, importers), make([]int64, importers)
	from := readWAL(ctx, r.owner)
	for k := range importers {
		free <- k
	}
	res := runLoad(ctx, importers, r.opts.Duration, batch, func(ctx context.Context, seq int64) error {
		k := <-free
		defer func() { free <- k }()
		events := r.importEvents(s, importProgram(k), seq, calls[k], batch)
		calls[k]++
		return s.send(ctx, c, url, importProgram(k), events)
	})
	orders, _ := r.report.Get(fmt.Sprintf("orders_%d_per_s", r.opts.OrderConns[len(r.opts.OrderConns)-1]))
	r.recordRate(f, res, orders.Value, "PayOrder")
	r.addWAL("import", "ImportEvents", "event", walBetween(from, readWAL(ctx, r.owner), res.items))
}

// beginImport puts program in importing state, when the server has
// ImportService/BeginImport (an import of a program not importing is
// refused there).
func (r *run) beginImport(ctx context.Context, program string) error {
	m := findMethod("BeginImport")
	if m == nil {
		return nil
	}
	body, err := encodeAs(m.Input(), map[string]any{"program": program, "idempotencyKey": "bench:begin-import"})
	if err != nil {
		return err
	}
	if err := callUnaryJSON(ctx, r.api.http, r.api.baseURL+procedure(m), body); err != nil {
		return fmt.Errorf("beginning the import of %s: %w", program, err)
	}
	return nil
}

func importProgram(k int) string { return fmt.Sprintf("bench-import-%d", k) }

// importEvents is batch events of call seq, the program's call-th, as
// the JSON of the event message: partners first, then clicks and orders
// to them, a millisecond apart, after the program's earlier calls'
// events.
func (r *run) importEvents(s *importShape, program string, seq, call int64, batch int) []json.RawMessage {
	base := lastMonth(r.now).Add(3*time.Hour + time.Duration(call*int64(batch))*time.Millisecond)
	partners := max(1, batch/10)
	events := make([]json.RawMessage, 0, batch)
	for i := range batch {
		id := fmt.Sprintf("i%d-%d", seq, i)
		p := fmt.Sprintf("i%d-%d", seq, rand.IntN(partners))
		at := base.Add(time.Duration(i) * time.Millisecond)
		var e importEvent
		switch {
		case i < partners:
			e = importEvent{kind: importPartner, program: program, id: id, at: at}
		case i%2 == 0:
			e = importEvent{kind: importClick, program: program, id: id, partner: p, at: at}
		default:
			e = importEvent{kind: importOrder, program: program, id: id, partner: p, at: at}
		}
		events = append(events, e.body(s))
	}
	return events
}

// send delivers one call's events: one unary call, or one client stream
// (of one batch message, or of one message per event).
func (s *importShape) send(ctx context.Context, c *api, url, program string, events []json.RawMessage) error {
	if !s.streaming {
		return callUnaryJSON(ctx, c.http, url, listBody(program, s.list.JSONName(), events))
	}
	var msgs [][]byte
	if s.list != nil {
		msgs = append(msgs, listBody(program, s.list.JSONName(), events))
	} else {
		for _, raw := range events {
			var e map[string]any
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			e["program"] = program
			body, err := encodeAs(s.event, e)
			if err != nil {
				return err
			}
			msgs = append(msgs, body)
		}
	}
	return callClientStreamJSON(ctx, c.http, url, msgs)
}
