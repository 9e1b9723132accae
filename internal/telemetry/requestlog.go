package telemetry

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
)

// programmed is a request that names its program.
type programmed interface{ GetProgram() string }

// RequestLog logs one line per RPC at the end of the call: procedure,
// Connect code, duration in milliseconds, program (when the request names
// one) and the caller's role (auth.RoleOpen without keys, empty when the
// call was refused before its token was known). Successes are logged at
// Info, client errors at Info too (they are the client's), server errors
// (internal, unavailable, unknown, data_loss) at Warn. It never logs a
// header, a token or a field other than program. Put it first (outermost)
// in the chain, before authentication, whose principal it reads through
// auth.WithCaller.
func RequestLog(log *slog.Logger) connect.Interceptor { return requestLog{log} }

type requestLog struct{ log *slog.Logger }

// WrapUnary logs a unary call once it returns.
func (l requestLog) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, caller := auth.WithCaller(ctx)
		start := time.Now()
		resp, err := next(ctx, req)
		program := ""
		if p, ok := req.Any().(programmed); ok {
			program = bounded(p.GetProgram())
		}
		l.line(ctx, req.Spec().Procedure, program, caller.Role, err, time.Since(start))
		return resp, err
	}
}

// WrapStreamingClient leaves clients alone: accrued only serves.
func (requestLog) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler logs a stream once it ends (its program is in its
// first message, which the log does not read).
func (l requestLog) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, caller := auth.WithCaller(ctx)
		start := time.Now()
		err := next(ctx, conn)
		l.line(ctx, conn.Spec().Procedure, "", caller.Role, err, time.Since(start))
		return err
	}
}

// line writes the call's log line.
func (l requestLog) line(ctx context.Context, procedure, program, role string, err error, took time.Duration) {
	code, level := "ok", slog.LevelInfo
	if err != nil {
		c := connect.CodeOf(err)
		code = c.String()
		if serverFault(c) {
			level = slog.LevelWarn
		}
	}
	l.log.LogAttrs(ctx, level, "rpc",
		slog.String("procedure", procedure), slog.String("code", code),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
		slog.String("program", program), slog.String("role", role))
}

// programLogBytesMax bounds the program a log line names: the log reads it
// before (and whatever) validation says of it.
const programLogBytesMax = 64

// bounded is program cut to programLogBytesMax bytes, on a rune boundary.
func bounded(program string) string {
	if len(program) <= programLogBytesMax {
		return program
	}
	cut := programLogBytesMax
	for cut > 0 && !utf8.RuneStart(program[cut]) {
		cut--
	}
	return program[:cut] + "…"
}

// serverFault reports whether code is the server's fault rather than the
// request's.
func serverFault(c connect.Code) bool {
	switch c {
	case connect.CodeInternal, connect.CodeUnavailable, connect.CodeUnknown, connect.CodeDataLoss:
		return true
	}
	return false
}
