package server

import (
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// RequestBytesMax bounds one request message; the largest legitimate one
// is a rules document (rules.DocumentSizeMax) or an order of rules.LinesMax
// lines.
const RequestBytesMax = 1 << 20

// Server is accrue's Connect edge over one Service.
type Server struct {
	// svc runs the use cases; handlers decode, call it and encode.
	svc *service.Service
	// clock is the service's: the server reads it for an omitted `at` and
	// the future-skew rule (times.go), so a replay's clock decides both.
	clock clock.Clock
	// log records internal errors and recovered panics.
	log *slog.Logger
	// inFlightMax caps the requests its handlers serve at once (limits.go).
	inFlightMax int
	// refused is called for each request the in-flight cap refuses.
	refused func()
	// panics counts the handler panics recovered (recover.go).
	panics atomic.Int64
	// outer run before every other interceptor (observe.go).
	outer []connect.Interceptor
	// routes are the extra routes Handle added (the web UI's).
	routes []route
}

// route is one extra route of the server's mux.
type route struct {
	pattern string
	handler http.Handler
}

// Handle adds a route to the mux Handler builds, such as the web UI's
// pages (internal/webui); the API's routes stay more specific. Call it
// before Handler.
func (s *Server) Handle(pattern string, handler http.Handler) {
	s.routes = append(s.routes, route{pattern, handler})
}

// New returns a Server over db reading time from clk.
func New(db *txn.DB, clk clock.Clock, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	svc := service.New(db, clk, log)
	svc.EncodeStatementsWith(encodeStatement)
	svc.RenderEventsWith(renderResource)
	return &Server{svc: svc, clock: clk, log: log, inFlightMax: InFlightMaxDefault}
}

// compressMinBytes is the smallest response body gzipped for a client that
// accepts it.
const compressMinBytes = 1 << 10

// Handler returns an http.Handler serving every accrue service, gRPC health
// and server reflection, and /livez and /readyz for Kubernetes. The
// interceptors run first, in order, before accrue's own (authentication
// belongs there: auth.Interceptor); only the strict decoding check runs
// before them. Requests to accrue's services are bounded in number
// (SetInFlightMax) and size.
func (s *Server) Handler(interceptors ...connect.Interceptor) http.Handler {
	mux := http.NewServeMux()
	chain := append(append(slices.Clone(s.outer), s.decodeCheck(), s.sessionCheck()), interceptors...)
	chain = append(chain, s.errorInterceptor(), valueCheck())
	opts := append([]connect.HandlerOption{
		connect.WithInterceptors(chain...),
		connect.WithReadMaxBytes(RequestBytesMax),
		connect.WithRecover(s.recovered),
		boundedGzip(),
		// A response of a few hundred bytes gains nothing from gzip and
		// costs both ends CPU: compress only larger ones.
		connect.WithCompressMinBytes(compressMinBytes),
	}, strictCodecs()...)
	services := http.NewServeMux()
	services.Handle(accruev1connect.NewLedgerServiceHandler(&ledgerService{s}, opts...))
	services.Handle(accruev1connect.NewProgramServiceHandler(&programService{s}, opts...))
	services.Handle(accruev1connect.NewPartnerServiceHandler(&partnerService{s}, opts...))
	services.Handle(accruev1connect.NewTrackingServiceHandler(&trackingService{s}, opts...))
	services.Handle(accruev1connect.NewOrderServiceHandler(&orderService{s}, opts...))
	services.Handle(accruev1connect.NewPeriodServiceHandler(&periodService{s}, opts...))
	services.Handle(accruev1connect.NewPayoutServiceHandler(&payoutService{s}, opts...))
	services.Handle(accruev1connect.NewImportServiceHandler(&importService{s}, opts...))
	services.Handle(accruev1connect.NewEventServiceHandler(&eventService{s}, opts...))
	services.Handle(accruev1connect.NewPortalServiceHandler(&portalService{s}, opts...))
	services.Handle(accruev1connect.NewProductServiceHandler(&productService{s}, opts...))
	// Everything but health, reflection and the probes is bounded, so that
	// an overloaded server still answers its probes.
	bounded := inFlightLimit(s.inFlightMax, s.refused, services)
	mux.Handle("/", bounded)
	s.portalRoutes(mux, bounded)
	names := []string{
		accruev1connect.LedgerServiceName, accruev1connect.ProgramServiceName,
		accruev1connect.PartnerServiceName, accruev1connect.TrackingServiceName,
		accruev1connect.OrderServiceName, accruev1connect.PeriodServiceName,
		accruev1connect.PayoutServiceName, accruev1connect.ImportServiceName,
		accruev1connect.EventServiceName, accruev1connect.PortalServiceName,
		accruev1connect.ProductServiceName,
	}
	ready := &readiness{ping: s.svc.Ping}
	mux.Handle(grpchealth.NewHandler(&healthChecker{services: names, ready: ready}))
	reflector := grpcreflect.NewStaticReflector(names...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.HandleFunc("GET /livez", livez)
	mux.HandleFunc("GET /readyz", ready.readyz)
	for _, r := range s.routes {
		mux.Handle(r.pattern, r.handler)
	}
	return mux
}

// UseSigningKey sets the Ed25519 key seal heads are signed with
// (service.UseSigningKey); call it before serving.
func (s *Server) UseSigningKey(key ed25519.PrivateKey) { s.svc.UseSigningKey(key) }

// PublicKey is the key seal heads verify with.
func (s *Server) PublicKey() ed25519.PublicKey { return s.svc.PublicKey() }
