package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
