package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
)

// Every List RPC pages the same way (docs/decisions.md, "Issue 7: values
// at the edge"). page_size 0 is ledger.PageSizeDefault, 1..PageSizeMax is
// taken as asked, above PageSizeMax is clamped to it (AIP-158: a page is
// never a promise of size, a client follows next_page_token), and a
// negative size is invalid_argument. A page token is opaque: the keyset
// position of the last row returned, bound to the RPC and to the request's
// other fields, so a token of another RPC, another program or another
// filter is refused (invalid_argument naming page_token) rather than
// silently paging something else.

// pagedRequest is a List request.
type pagedRequest interface {
	proto.Message
	GetPageSize() int32
	GetPageToken() string
}

// pageToken is what a page token encodes.
type pageToken struct {
	// Query is queryDigest of the request the token continues.
	Query string `json:"q"`
	// After is the keyset position: the sort key of the last row returned.
	After []string `json:"a"`
}

// page is a List request's decoded page_size and page_token.
type page struct {
	limit int
	// after is the keyset position to continue after, nil on the first page.
	after []string
}

// readPage validates m's page_size and page_token; a token must hold a key
// of n parts.
func readPage(m pagedRequest, n int) (page, error) {
	if m.GetPageSize() < 0 {
		return page{}, fault.InvalidArgument("page_size", "must not be negative, got %d (0 is the default of %d, at most %d)",
			m.GetPageSize(), ledger.PageSizeDefault, ledger.PageSizeMax)
	}
	p := page{limit: ledger.PageSize(int(m.GetPageSize()))}
	if m.GetPageToken() == "" {
		return p, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(m.GetPageToken())
	var tok pageToken
	if err != nil || json.Unmarshal(b, &tok) != nil || len(tok.After) != n {
		return page{}, fault.InvalidArgument("page_token", "malformed")
	}
	if tok.Query != queryDigest(m) {
		return page{}, fault.InvalidArgument("page_token", "belongs to another list request; a token continues the request that returned it, with the same fields")
	}
	p.after = tok.After
	return p, nil
}

// nextToken is the token for the page after a full page that ended at
// key (a page shorter than the limit is the last and has none).
func (p page) nextToken(m pagedRequest, key ...string) string {
	b, _ := json.Marshal(pageToken{Query: queryDigest(m), After: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// afterID reads a keyset position of one integer id; 0 on the first page.
func (p page) afterID() (int64, error) {
	if p.after == nil {
		return 0, nil
	}
	id, err := strconv.ParseInt(p.after[0], 10, 64)
	if err != nil || id < 0 {
		return 0, fault.InvalidArgument("page_token", "malformed")
	}
	return id, nil
}

// queryDigest identifies a List request without its page fields: its
// message type and every other field, deterministically encoded.
func queryDigest(m pagedRequest) string {
	c := proto.Clone(m)
	r := c.ProtoReflect()
	fields := r.Descriptor().Fields()
	r.Clear(fields.ByName("page_size"))
	r.Clear(fields.ByName("page_token"))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		panic("server: encoding a list request: " + err.Error())
	}
	sum := sha256.Sum256(bytes.Join([][]byte{[]byte(r.Descriptor().FullName()), b}, []byte{0}))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
