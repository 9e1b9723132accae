package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The single-call load cases (PayOrder, RecordClick) run wrk when it is
// installed: the load client issue 9 measures with. It formats each
// request in Lua and costs the shared cores a fraction of what Go's HTTP
// client does (0.35 of the two cores at 4,700 clicks/s), so the server
// gets the cores a separate load machine would leave it. Without wrk the
// Go client (runLoad) runs, and each figure's note names the client.

// Load clients (Options.LoadClient).
const (
	LoadClientAuto = ""    // wrk when installed, else Go
	LoadClientWrk  = "wrk" // wrk, or the case fails
	LoadClientGo   = "go"  // Go's HTTP client
)

// wrkThreads is wrk's thread count: one per core of this machine kind.
const wrkThreads = 2

// wrkRequest is a single-call case for wrk: the procedure posted and the
// Lua expression of each body, formatted from seq (the request's number,
// unique across wrk's threads) and code (a random partner's code).
type wrkRequest struct {
	procedure string
	body      string
}

// wrkClickBody is clickBody in Lua, its keys apart from the Go client's.
const wrkClickBody = `string.format('{"program":"%s","idempotencyKey":"bench:wrk-click:%d","partner":"%s","visitor":"v%d",` +
	`"landing":"https://shop.example/bags","utmSource":"bench"}', program, seq, code, seq)`

// wrkOrderBody is payOrderBody in Lua for order id run..seq.
const wrkOrderBody = `string.format('{"program":"%s","idempotencyKey":"bench:order:%s","order":"%s","customer":"c-%s","partnerCode":"%s",` +
	`"lines":[{"product":"bag","amount":"120.00"},{"product":"belt","amount":"35.50"}]}', program, run .. seq, run .. seq, run .. seq, code)`

// wrkScript is the Lua of a wrk run of req against program's partners
// P0…P(partners-1), order ids prefixed by run; done prints wrk's figures
// as one JSON line (wrkSummary).
func wrkScript(req wrkRequest, program, run string, partners int) string {
	return fmt.Sprintf(`program, run, partners = %q, %q, %d
tid = 0
local threads, n = 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
end
function request()
  n = n + 1
  local seq = tid * 1000000000 + n
  local code = "P" .. math.random(0, partners - 1)
  return wrk.format("POST", %q, {["Content-Type"] = "application/json"}, %s)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%%d,"duration_us":%%d,"errors":%%d,"status_errors":%%d,"p50_us":%%d,"p99_us":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`, program, run, partners, req.procedure, req.body)
}

// wrkSummary is what wrkScript's done prints.
type wrkSummary struct {
	Requests     int64 `json:"requests"`
	DurationUS   int64 `json:"duration_us"`
	Errors       int64 `json:"errors"`
	StatusErrors int64 `json:"status_errors"`
	P50US        int64 `json:"p50_us"`
	P99US        int64 `json:"p99_us"`
}

// result is s as a loadResult, one unit a request.
func (s wrkSummary) result() loadResult {
	failed := s.Errors + s.StatusErrors
	res := loadResult{ok: s.Requests - failed, failed: failed, elapsed: time.Duration(s.DurationUS) * time.Microsecond,
		quantiles: map[float64]time.Duration{0.50: time.Duration(s.P50US) * time.Microsecond, 0.99: time.Duration(s.P99US) * time.Microsecond},
		client:    LoadClientWrk}
	res.items = res.ok
	if failed > 0 {
		res.firstErr = fmt.Errorf("wrk: %d of %d requests failed (%d with an HTTP error status)", failed, s.Requests, s.StatusErrors)
	}
	return res
}

// wrkPath is the wrk binary the run uses, or "" for the Go client.
func (o Options) wrkPath() (string, error) {
	switch o.LoadClient {
	case LoadClientGo:
		return "", nil
	case LoadClientAuto, LoadClientWrk:
		path, err := exec.LookPath("wrk")
		if err != nil && o.LoadClient == LoadClientWrk {
			return "", fmt.Errorf("bench: wrk is not installed (apt-get install wrk): %w", err)
		}
		return path, nil
	}
	return "", fmt.Errorf("bench: unknown load client %q (wrk, go)", o.LoadClient)
}

// runWrk runs wrk with conns connections for d against baseURL, writing
// the script into dir, and returns what it measured.
func runWrk(ctx context.Context, wrk, dir, baseURL string, conns int, d time.Duration, script string) (loadResult, error) {
	f, err := os.CreateTemp(dir, "wrk-*.lua")
	if err != nil {
		return loadResult{}, fmt.Errorf("bench: writing the wrk script: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return loadResult{}, fmt.Errorf("bench: writing the wrk script: %w", err)
	}
	if err := f.Close(); err != nil {
		return loadResult{}, fmt.Errorf("bench: writing the wrk script: %w", err)
	}
	threads := min(wrkThreads, conns)
	cmd := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))+"s", "--timeout", "10s", "-s", f.Name(), baseURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("bench: wrk: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	line := out[bytes.LastIndexByte(bytes.TrimRight(out, "\n"), '\n')+1:]
	var s wrkSummary
	if err := json.Unmarshal(line, &s); err != nil {
		return loadResult{}, fmt.Errorf("bench: reading wrk's summary %q: %w", line, err)
	}
	return s.result(), nil
}
