package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"

	"connectrpc.com/connect"
)

// DefaultMaxInFlight caps the requests accrued serves at once: twice the
// database pool (database.MaxConns), since a request beyond that would only
// wait for a connection while holding its body in memory. Beyond the cap a
// request is refused at once with resource_exhausted.
const DefaultMaxInFlight = 64

// maxBodyBytes bounds the bytes read off the wire for one request: a
// message of MaxRequestBytes, its envelope, and what compressing
// incompressible data may add.
const maxBodyBytes = MaxRequestBytes + 64<<10

// SetMaxInFlight sets the cap on requests in flight for handlers made
// after it (n <= 0: DefaultMaxInFlight).
func (s *Server) SetMaxInFlight(n int) {
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	s.maxInFlight = n
}

// inFlightLimit answers requests beyond max at once with a Connect
// resource_exhausted error (HTTP 429 for the Connect protocol, grpc-status
// 8 for gRPC and gRPC-Web), and bounds each request's body on the wire.
func inFlightLimit(max int, next http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	ew := connect.NewErrorWriter()
	busy := fmt.Errorf("more than %d requests in flight; retry shortly", max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			w.Header().Set("Retry-After", "1")
			_ = ew.Write(w, r, connect.NewError(connect.CodeResourceExhausted, busy))
			return
		}
		defer func() { <-slots }()
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// boundedGzip is accrue's gzip: its decompressor stops once it has
// produced more than MaxRequestBytes, where connect-go's own would inflate
// the whole body only to measure how far over the limit it is.
func boundedGzip() connect.HandlerOption {
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &boundedDecompressor{max: MaxRequestBytes} },
		func() connect.Compressor { return gzip.NewWriter(io.Discard) },
	)
}

// errInflatedTooLarge ends a decompression past the limit.
var errInflatedTooLarge = errors.New("the decompressed request exceeds the size limit")

// boundedDecompressor is a gzip reader that yields at most max+1 bytes
// (one more than allowed, so a reader can tell the limit was passed), then
// fails.
type boundedDecompressor struct {
	gz   gzip.Reader
	max  int64
	read int64
}

func (d *boundedDecompressor) Read(p []byte) (int, error) {
	left := d.max + 1 - d.read
	if left <= 0 {
		return 0, errInflatedTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := d.gz.Read(p)
	d.read += int64(n)
	return n, err
}

// Reset starts over on a new compressed stream.
func (d *boundedDecompressor) Reset(r io.Reader) error {
	d.read = 0
	return d.gz.Reset(r)
}

// Close ends the current stream.
func (d *boundedDecompressor) Close() error { return d.gz.Close() }
