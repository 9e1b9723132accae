package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Limits of one outbound request.
const (
	// RequestTimeout bounds one attempt, from dial to the response's end.
	RequestTimeout = 15 * time.Second
	// dialTimeout bounds connecting.
	dialTimeout = 5 * time.Second
	// ResponseBytesMax is how much of a response is read; the rest is
	// dropped (the status decides).
	ResponseBytesMax = 64 << 10
)

// ErrForbiddenAddress refuses a destination on a private, loopback,
// link-local or otherwise internal address.
var ErrForbiddenAddress = errors.New("webhook: destination address is private, loopback or link-local")

// sharedAddressSpace is carrier-grade NAT (RFC 6598), internal too.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Forbidden reports whether an endpoint may not be reached at ip unless
// private addresses are allowed: loopback, private (RFC 1918, fc00::/7),
// link-local (169.254/16, fe80::/10, which holds cloud metadata),
// unspecified, multicast and shared address space.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip)
}

// NewClient returns the HTTP client deliveries use: bounded by timeout, no
// proxy (a proxy would dial for us, past the guard), no redirects (a 3xx
// is an answer, and a failed one), and, unless allowPrivate, refusing at
// dial time every address Forbidden names. The check runs on the address
// actually dialled, after name resolution, so a name that resolves to a
// public address when checked and a private one when used (DNS
// rebinding) is still refused.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: dialTimeout}
	if !allowPrivate {
		dialer.Control = refusePrivate
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   dialTimeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusePrivate is a net.Dialer Control: it sees the resolved address of
// each connection before it is made.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dialling %q: %w", address, err)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}
