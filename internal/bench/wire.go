package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The load cases send Connect JSON as a load client such as wrk does:
// each request body formatted from a template, posted as it is, its
// response read and dropped, only its status looked at. The client then
// costs the shared cores little, so the figures are the server's; the
// setup and the checks use the Connect clients (api).

// payOrderBody is the JSON of the bench's PayOrder of order id for the
// partner with code, as payOrder sends it without a time.
func payOrderBody(program, id, code string) []byte {
	return fmt.Appendf(nil, `{"program":%q,"idempotencyKey":"bench:order:%s","order":%q,"customer":"c-%s","partnerCode":%q,`+
		`"lines":[{"product":"bag","amount":"120.00"},{"product":"belt","amount":"35.50"}]}`, program, id, id, id, code)
}

// clickBody is the JSON of the seq-th bench click, for the partner with
// code (as clickRequest).
func clickBody(seq int64, code string) []byte {
	return fmt.Appendf(nil, `{"program":%q,"idempotencyKey":"bench:click:%d","partner":%q,"visitor":"v%d",`+
		`"landing":"https://shop.example/bags","utmSource":"bench"}`, loadProgram, seq, code, seq)
}

// listBody is the JSON of a batch call of program whose member (by its
// JSON name) list holds items.
func listBody(program, list string, items []json.RawMessage) []byte {
	b := fmt.Appendf(nil, `{"program":%q,%q:[`, program, list)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, "]}"...)
}

// The kinds of imported event.
const (
	importPartner = iota
	importClick
	importOrder
)

// importEvent is one event of an import call: a partner id registered
// with that code, or a click or order of id for the partner with code
// partner, at `at`.
type importEvent struct {
	kind                 int
	program, id, partner string
	at                   time.Time
}

// body is e as the JSON of s's event message.
func (e importEvent) body(s *importShape) json.RawMessage {
	at := e.at.UTC().Format(time.RFC3339Nano)
	head := fmt.Sprintf(`"program":%q,"idempotencyKey":"bench:import:%s","at":%q`, e.program, e.id, at)
	switch e.kind {
	case importPartner:
		return fmt.Appendf(nil, `{%q:{%s,"partner":%q,"code":%q}}`, s.partner.JSONName(), head, e.id, e.id)
	case importClick:
		return fmt.Appendf(nil, `{%q:{%s,"partner":%q,"visitor":"v-%s"}}`, s.click.JSONName(), head, e.partner, e.id)
	}
	return fmt.Appendf(nil, `{%q:{%s,"order":%q,"customer":"c-%s","partnerCode":%q,`+
		`"lines":[{"product":"bag","amount":"120.00"},{"product":"belt","amount":"35.50"}]}}`, s.order.JSONName(), head, e.id, e.id, e.partner)
}

// post sends body to the procedure (such as
// "/accrue.v1.TrackingService/RecordClick") as Connect JSON and fails
// unless the server answers 200.
func (a *api) post(ctx context.Context, procedure string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.baseURL+procedure, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: HTTP %d: %s", procedure, resp.StatusCode, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
