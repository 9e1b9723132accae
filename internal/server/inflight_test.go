package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// gzipBomb returns a gzip body just under RequestBytesMax that inflates
// to about 1 GiB of zeros: concatenated members of 1 MiB each (gzip
// readers read multi-member streams whole).
func gzipBomb(t testing.TB) []byte {
	t.Helper()
	var member bytes.Buffer
	w, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), RequestBytesMax/member.Len())
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestGzipBombIsNotInflated: the decompressor stops at RequestBytesMax,
// read the way connect-go reads it (up to the limit plus one byte), with
// invalid_argument, having consumed a sliver of the compressed body; over
// HTTP the bomb is refused invalid_argument (a request too large is not
// retryable), without Retry-After.
func TestGzipBombIsNotInflated(t *testing.T) {
	bomb := gzipBomb(t)
	src := &countingReader{r: bytes.NewReader(bomb)}
	var d connect.Decompressor = &boundedDecompressor{max: RequestBytesMax}
	if err := d.Reset(src); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(d, RequestBytesMax+1))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || n != RequestBytesMax {
		t.Fatalf("read %d bytes (%v), want the limit and invalid_argument", n, err)
	}
	if src.n > len(bomb)/64 {
		t.Errorf("consumed %d of %d compressed bytes, want a sliver", src.n, len(bomb))
	}

	e := newEdge(t)
	req, err := http.NewRequest(http.MethodPost, e.hs.URL+"/accrue.v1.OrderService/PayOrder", bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/proto")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wantTooLarge(t, "a gzip bomb", resp)
}

// wantTooLarge fails unless resp refuses a body too large as Connect's
// invalid_argument (HTTP 400) of the body as a whole, without Retry-After.
func wantTooLarge(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Retry-After") != "" {
		t.Errorf("%s: HTTP %d, Retry-After %q, want 400 without Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp.StatusCode != http.StatusOK {
		wantViolation(t, what, wireError(t, what, resp.StatusCode, body), "")
	}
}

// TestBodyBoundedOnTheWire: a body far over the limit is refused
// invalid_argument without being read whole.
func TestBodyBoundedOnTheWire(t *testing.T) {
	e := newEdge(t)
	src := &countingReader{r: bytes.NewReader(make([]byte, 64<<20))}
	resp, err := e.hs.Client().Post(e.hs.URL+"/accrue.v1.OrderService/PayOrder", "application/proto", src)
	if err != nil {
		t.Fatal(err)
	}
	wantTooLarge(t, "a 64 MiB body", resp)
	if src.n > 16<<20 {
		t.Errorf("the server read %d bytes of a 64 MiB body", src.n)
	}
}

// TestTooLargeIsNotRetryable: a request over RequestBytesMax, on the wire
// or once decompressed, is invalid_argument with a BadRequest of the body
// as a whole over every protocol, so that no client retries it as it
// retries the in-flight cap's resource_exhausted; a request just under the
// limit passes the size checks.
func TestTooLargeIsNotRetryable(t *testing.T) {
	e := newEdge(t)
	ctx := context.Background()
	huge := strings.Repeat("x", RequestBytesMax*3/2)
	resp, err := e.hs.Client().Post(e.hs.URL+"/accrue.v1.OrderService/PayOrder", "application/json",
		strings.NewReader(`{"program":"p","customer":"`+huge+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantTooLarge(t, "a 1.5 MB JSON body", resp)

	protocols := map[string][]connect.ClientOption{
		"connect-json":  {connect.WithProtoJSON()},
		"connect-proto": nil,
		"grpc":          {connect.WithGRPC()},
		"grpc-web":      {connect.WithGRPCWeb()},
	}
	for name, opts := range protocols {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				what     string
				customer string
				gzip     bool
			}{
				{"1.5 MB on the wire", huge, false},
				{"2 MiB once decompressed", strings.Repeat("x", 2*RequestBytesMax), true},
				{"1.5 MB compressed", randomText(RequestBytesMax * 3 / 2), true},
			} {
				o := opts
				if tc.gzip {
					o = append(o[:len(o):len(o)], connect.WithSendGzip())
				}
				_, _, _, orders, _ := clients(e.hs, o...)
				_, err := orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", Customer: tc.customer}))
				wantViolation(t, tc.what, err, "")
			}
			// Under the limit, the size checks let the request through to
			// the handler, which finds a field at fault.
			_, _, _, orders, _ := clients(e.hs, append(opts[:len(opts):len(opts)], connect.WithSendGzip())...)
			_, err := orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: "p", Customer: strings.Repeat("x", RequestBytesMax-1024)}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || strings.HasPrefix(connectMessage(err), "the request body") {
				t.Errorf("a body under the limit: %v, want a field's invalid_argument", err)
			}
		})
	}
}

// connectMessage is the message of a Connect error, "" for another.
func connectMessage(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	return ce.Message()
}

// randomText is n bytes of letters that do not compress much.
func randomText(n int) string {
	b := make([]byte, n)
	for i, r := 0, uint32(1); i < n; i++ {
		r = r*1664525 + 1013904223
		b[i] = 'a' + byte(r>>24)%26
	}
	return string(b)
}

// TestInFlightCap: beyond the cap a request is refused at once with
// resource_exhausted, as HTTP 429 over Connect and grpc-status 8 over gRPC.
func TestInFlightCap(t *testing.T) {
	e := newEdge(t)
	e.srv.SetInFlightMax(1)
	e.hs = httptest.NewUnstartedServer(e.srv.Handler())
	e.hs.EnableHTTP2 = true
	e.hs.StartTLS()
	defer e.hs.Close()

	// A request whose body never ends holds the one slot: written by hand
	// on a raw connection, so that no client transport buffers it. A poll
	// below may take the slot first and the held request be refused; then
	// it is sent again, until it holds the slot and the polls are refused.
	hold := func() net.Conn {
		conn, err := tls.Dial("tcp", e.hs.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(conn, "POST /accrue.v1.OrderService/PayOrder HTTP/1.1\r\nHost: accrue\r\n"+
			"Content-Type: application/proto\r\nContent-Length: 100\r\n\r\n\x0a"); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	answered := func(conn net.Conn) bool {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		defer conn.SetReadDeadline(time.Time{})
		var b [1]byte
		n, err := conn.Read(b[:])
		var ne net.Error
		return n > 0 || (err != nil && !(errors.As(err, &ne) && ne.Timeout()))
	}
	conn := hold()
	defer func() { conn.Close() }()
	_, programs, _, _, _ := clients(e.hs)
	grpcPrograms := accruev1connect.NewProgramServiceClient(e.hs.Client(), e.hs.URL, connect.WithGRPC())
	get := func(c accruev1connect.ProgramServiceClient) error {
		_, err := c.GetRules(context.Background(), connect.NewRequest(&accruev1.GetRulesRequest{Program: "p", Version: 1}))
		return err
	}
	eventually(t, "the cap reached", func() bool {
		if answered(conn) {
			conn.Close()
			conn = hold()
			return false
		}
		return connect.CodeOf(get(programs)) == connect.CodeResourceExhausted
	})
	if err := get(grpcPrograms); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Errorf("over gRPC beyond the cap: %v, want resource_exhausted", err)
	}
	resp, err := e.hs.Client().Post(e.hs.URL+"/accrue.v1.ProgramService/GetRules", "application/json", bytes.NewReader([]byte(`{"program":"p","version":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over Connect beyond the cap: HTTP %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if c := httpStatus(t, e.hs.Client(), e.hs.URL+"/livez"); c != http.StatusOK {
		t.Errorf("/livez %d at the cap, want 200", c)
	}
	conn.Close()
	eventually(t, "the slot freed", func() bool { return get(programs) == nil })
}

// TestNotGzipIsTheBodysFault: a body declared gzip that is not is
// invalid_argument of the body as a whole, with its field violation.
func TestNotGzipIsTheBodysFault(t *testing.T) {
	e := newEdge(t)
	for name, body := range map[string][]byte{"not gzip": []byte("plain text"), "truncated gzip": gzipBomb(t)[:100]} {
		req, err := http.NewRequest(http.MethodPost, e.hs.URL+"/accrue.v1.OrderService/PayOrder", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := e.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", name, resp.StatusCode, b)
			continue
		}
		wantViolation(t, name, wireError(t, name, resp.StatusCode, b), "")
	}
}

// BenchmarkGzipBombRefused measures what a gzip bomb (1 MB inflating to
// 1 GiB) costs before it is refused: inflating RequestBytesMax.
func BenchmarkGzipBombRefused(b *testing.B) {
	bomb := gzipBomb(b)
	d := &boundedDecompressor{max: RequestBytesMax}
	var out bytes.Buffer
	for b.Loop() {
		if err := d.Reset(bytes.NewReader(bomb)); err != nil {
			b.Fatal(err)
		}
		out.Reset()
		if _, err := out.ReadFrom(io.LimitReader(d, RequestBytesMax+1)); connect.CodeOf(err) != connect.CodeInvalidArgument {
			b.Fatalf("a bomb inflated: %v", err)
		}
	}
}
