package server

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
)

// A request over RequestBytesMax, on the wire or once decompressed, is
// invalid_argument of the body as a whole (field ""), not connect-go's
// resource_exhausted: sending it again cannot succeed, and clients retry
// resource_exhausted, which accrue answers only for the in-flight cap,
// with Retry-After. connect-go checks WithReadMaxBytes itself, before any
// interceptor, but passes on a Connect error its reader or decompressor
// returns; so the body (boundedBody) and the decompressor
// (boundedDecompressor) fail with tooLarge just before connect-go would
// find the message over its limit.

// InFlightMaxDefault caps the requests accrued serves at once: twice the
// database pool (database.ConnsMax), since a request beyond that would only
// wait for a connection while holding its body in memory. Beyond the cap a
// request is refused at once with resource_exhausted.
const InFlightMaxDefault = 64

// bodyBytesMax bounds the bytes of an enveloped request body (gRPC,
// gRPC-Web): a message of RequestBytesMax, its envelope, and what
// compressing incompressible data may add.
const bodyBytesMax = RequestBytesMax + 64<<10

// envelopePrefixBytes is the length of the prefix of an enveloped
// message: a flags byte and the message's length (big-endian uint32).
const envelopePrefixBytes = 5

// tooLarge is the error of a request body over the size limit, where
// (on the wire, once decompressed).
func tooLarge(where string) *connect.Error {
	return faultError(connect.CodeInvalidArgument, fault.InvalidArgument("",
		"the request body is over the limit of %d bytes %s; it cannot succeed, do not retry it", RequestBytesMax, where))
}

// SetInFlightMax sets the cap on requests in flight for handlers made
// after it (n <= 0: InFlightMaxDefault).
func (s *Server) SetInFlightMax(n int) {
	if n <= 0 {
		n = InFlightMaxDefault
	}
	s.inFlightMax = n
}

// OnInFlightRefused sets a function called for each request the in-flight
// cap refuses (they are answered before Connect, so no interceptor sees
// them: the metrics count them here). Call it before Handler.
func (s *Server) OnInFlightRefused(f func()) { s.refused = f }

// inFlightLimit answers requests beyond max at once with a Connect
// resource_exhausted error (HTTP 429 for the Connect protocol, grpc-status
// 8 for gRPC and gRPC-Web), calling refused (when set), and bounds each
// request's body on the wire.
func inFlightLimit(max int, refused func(), next http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	ew := connect.NewErrorWriter()
	busy := fmt.Errorf("more than %d requests in flight; retry shortly", max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			if refused != nil {
				refused()
			}
			w.Header().Set("Retry-After", "1")
			_ = ew.Write(w, r, connect.NewError(connect.CodeResourceExhausted, busy))
			return
		}
		defer func() { <-slots }()
		r.Body = newBoundedBody(r)
		next.ServeHTTP(w, r)
	})
}

// boundedBody is a request body that yields at most limit bytes and fails
// with tooLarge on reading more; for an enveloped body, it also fails
// before yielding the last byte of the prefix of a message longer than
// RequestBytesMax (connect-go refuses that message once it has the prefix).
type boundedBody struct {
	io.ReadCloser
	limit     int64  // bytes the body may hold
	read      int64  // bytes yielded
	enveloped bool   // gRPC, gRPC-Web or Connect streaming
	next      int64  // enveloped: offset of the next envelope's prefix
	prefix    []byte // enveloped: the bytes of that prefix read so far
	err       error
}

// newBoundedBody bounds r's body: a Connect unary body is one message (as
// sent, compressed or not) of RequestBytesMax at most.
func newBoundedBody(r *http.Request) *boundedBody {
	ct := r.Header.Get("Content-Type")
	enveloped := strings.HasPrefix(ct, "application/grpc") || strings.HasPrefix(ct, "application/connect+")
	b := &boundedBody{ReadCloser: r.Body, limit: RequestBytesMax, enveloped: enveloped}
	if enveloped {
		b.limit = bodyBytesMax
	}
	return b
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if room := b.limit - b.read + 1; int64(len(p)) > room {
		p = p[:room] // one byte past the limit tells it was passed
	}
	n, err := b.ReadCloser.Read(p)
	if b.read+int64(n) > b.limit {
		n, b.err = int(b.limit-b.read), tooLarge("on the wire")
	}
	if b.enveloped {
		if k, ok := b.scanPrefixes(p[:n]); !ok {
			n, b.err = k, tooLarge("in one message")
		}
	}
	b.read += int64(n)
	if b.err != nil {
		return n, b.err
	}
	return n, err
}

// scanPrefixes follows the envelopes through chunk, the bytes after the
// first b.read of the body. It stops at the last byte of a prefix that
// announces a message over RequestBytesMax, returning its index and false.
func (b *boundedBody) scanPrefixes(chunk []byte) (int, bool) {
	for i := 0; i < len(chunk); {
		at := b.read + int64(i)
		if at < b.next { // inside a message
			i += int(min(b.next-at, int64(len(chunk)-i)))
			continue
		}
		b.prefix = append(b.prefix, chunk[i])
		if len(b.prefix) == envelopePrefixBytes {
			size := binary.BigEndian.Uint32(b.prefix[1:])
			if size > RequestBytesMax {
				return i, false
			}
			b.next, b.prefix = at+1+int64(size), b.prefix[:0]
		}
		i++
	}
	return len(chunk), true
}

// boundedGzip is accrue's gzip: its decompressor stops once it would
// produce more than RequestBytesMax, where connect-go's own would inflate
// the whole body only to measure how far over the limit it is.
func boundedGzip() connect.HandlerOption {
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &boundedDecompressor{max: RequestBytesMax} },
		func() connect.Compressor { return gzip.NewWriter(io.Discard) },
	)
}

// boundedDecompressor is a gzip reader that yields at most max bytes and
// fails with tooLarge on producing more. A body that is not gzip fails
// as a whole too, invalid_argument with its field violation (connect-go
// would wrap a Reset error in an error without one).
type boundedDecompressor struct {
	gz     gzip.Reader
	opened bool // gz has read a header once: Close has something to close
	max    int64
	read   int64
	err    error
}

func (d *boundedDecompressor) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	left := d.max - d.read
	if int64(len(p)) > left+1 {
		p = p[:left+1] // one byte past the limit tells it was passed
	}
	n, err := d.gz.Read(p)
	if int64(n) > left {
		n, d.err = int(left), tooLarge("once decompressed")
	} else if err != nil && err != io.EOF {
		d.err = notGzip(err)
	}
	d.read += int64(n)
	if d.err != nil {
		return n, d.err
	}
	return n, err
}

// Reset starts over on a new compressed stream; a bad header fails the
// first Read.
func (d *boundedDecompressor) Reset(r io.Reader) error {
	d.read, d.err = 0, nil
	if err := d.gz.Reset(r); err != nil {
		d.err = notGzip(err)
		return nil
	}
	d.opened = true
	return nil
}

// Close ends the current stream.
func (d *boundedDecompressor) Close() error {
	if !d.opened {
		return nil
	}
	return d.gz.Close()
}

// notGzip is the error of a body that does not decompress, as a whole.
func notGzip(err error) error {
	if ce := new(connect.Error); errors.As(err, &ce) {
		return ce // the body's own, tooLarge
	}
	return faultError(connect.CodeInvalidArgument, fault.InvalidArgument("", "the request body is not valid gzip: %v", err))
}
