package server

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/service"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// WatchEvents, a server stream, is guarded like the unary calls (streams
// pass no unary interceptor): no token is unauthenticated, a partner key
// or another program's request is denied, the auditor and admin read.
func TestWatchEventsRequiresAKey(t *testing.T) {
	hs, db := guardedServer(t)
	if _, err := service.New(db, clock.Real{}, nil).PublishEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := accruev1connect.NewEventServiceClient(hs.Client(), hs.URL)
	for _, tc := range []struct {
		token, program string
		want           connect.Code
	}{
		{"", "p", connect.CodeUnauthenticated},
		{"bob-token-0123456789ab", "p", connect.CodePermissionDenied},
		{"audit-token-0123456789", "q", connect.CodePermissionDenied},
		{"audit-token-0123456789", "p", 0},
		{"admin-token-0123456789", "p", 0},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req := connect.NewRequest(&accruev1.WatchEventsRequest{Program: tc.program})
		if tc.token != "" {
			req.Header().Set("Authorization", "Bearer "+tc.token)
		}
		stream, err := client.WatchEvents(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var code connect.Code
		if !stream.Receive() {
			code = connect.CodeOf(stream.Err())
		}
		if code != tc.want {
			t.Errorf("token %q, program %q: code %v (%v), want %v", tc.token, tc.program, code, stream.Err(), tc.want)
		}
		cancel()
		stream.Close()
	}
}
