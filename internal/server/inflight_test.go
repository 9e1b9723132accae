package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/gen/accrue/v1/accruev1connect"
)

// gzipBomb returns a gzip body just under MaxRequestBytes that inflates
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
	return bytes.Repeat(member.Bytes(), MaxRequestBytes/member.Len())
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

// TestGzipBombIsNotInflated: the decompressor stops right past
// MaxRequestBytes, read the way connect-go reads it (up to the limit plus
// one byte, then the rest to measure it), having consumed a sliver of the
// compressed body; over HTTP the bomb is refused resource_exhausted.
func TestGzipBombIsNotInflated(t *testing.T) {
	bomb := gzipBomb(t)
	src := &countingReader{r: bytes.NewReader(bomb)}
	var d connect.Decompressor = &boundedDecompressor{max: MaxRequestBytes}
	if err := d.Reset(src); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(d, MaxRequestBytes+1))
	if err != nil || n != MaxRequestBytes+1 {
		t.Fatalf("read %d bytes (%v), want the limit plus one", n, err)
	}
	rest, err := io.Copy(io.Discard, d)
	if !errors.Is(err, errInflatedTooLarge) || rest != 0 {
		t.Fatalf("reading on inflated %d more bytes (%v), want none and errInflatedTooLarge", rest, err)
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
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(body, []byte(`"resource_exhausted"`)) {
		t.Errorf("a gzip bomb: HTTP %d %s, want 429 resource_exhausted", resp.StatusCode, body)
	}
}

// TestBodyBoundedOnTheWire: a body far over the limit is refused
// resource_exhausted without being read whole.
func TestBodyBoundedOnTheWire(t *testing.T) {
	e := newEdge(t)
	src := &countingReader{r: bytes.NewReader(make([]byte, 64<<20))}
	resp, err := e.hs.Client().Post(e.hs.URL+"/accrue.v1.OrderService/PayOrder", "application/proto", src)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(body, []byte(`"resource_exhausted"`)) {
		t.Errorf("a 64 MiB body: HTTP %d %s, want 429 resource_exhausted", resp.StatusCode, body)
	}
	if src.n > 16<<20 {
		t.Errorf("the server read %d bytes of a 64 MiB body", src.n)
	}
}

// TestInFlightCap: beyond the cap a request is refused at once with
// resource_exhausted, as HTTP 429 over Connect and grpc-status 8 over gRPC.
func TestInFlightCap(t *testing.T) {
	e := newEdge(t)
	e.srv.SetMaxInFlight(1)
	e.hs = httptest.NewUnstartedServer(e.srv.Handler())
	e.hs.EnableHTTP2 = true
	e.hs.StartTLS()
	defer e.hs.Close()

	// A request whose body never ends holds the one slot: written by hand
	// on a raw connection, so that the server has its headers (and runs its
	// handler) before the test goes on, whatever a client transport buffers.
	conn, err := tls.Dial("tcp", e.hs.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /accrue.v1.OrderService/PayOrder HTTP/1.1\r\nHost: accrue\r\n"+
		"Content-Type: application/proto\r\nContent-Length: 100\r\n\r\n\x0a"); err != nil {
		t.Fatal(err)
	}
	_, programs, _, _, _ := clients(e.hs)
	grpcPrograms := accruev1connect.NewProgramServiceClient(e.hs.Client(), e.hs.URL, connect.WithGRPC())
	get := func(c accruev1connect.ProgramServiceClient) error {
		_, err := c.GetRules(context.Background(), connect.NewRequest(&accruev1.GetRulesRequest{Program: "p", Version: 1}))
		return err
	}
	eventually(t, "the cap reached", func() bool { return connect.CodeOf(get(programs)) == connect.CodeResourceExhausted })
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
