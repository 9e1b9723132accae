package service

import (
	"context"
	"fmt"
	"testing"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
)

// encodeClickPartner encodes a recorded click as its partner.
func encodeClickPartner(c RecordedClick) ([]byte, error) { return []byte(c.Partner), nil }

// clickOf is a RecordClick of visitor on partner under key.
func clickOf(key, partner, visitor string) BatchClick {
	return BatchClick{Command: testCommand(key, partner+visitor), encode: encodeClickPartner,
		Click: store.Click{Partner: partner, Visitor: visitor, At: groupT0.AddDate(0, 0, 2)}}
}

// RecordClick calls grouped into one batch answer as the same calls one
// after the other: the same key and payload twice replays, the same key
// with another payload is refused as a later call would be, an unknown
// partner fails alone.
func TestRecordClickGroupAnswersAsSequentialCalls(t *testing.T) {
	s := groupService(t)
	clicks := []BatchClick{clickOf("c1", "child", "v1"), clickOf("c1", "child", "v1"), clickOf("c1", "child", "v2"),
		clickOf("c2", "nobody", "v1"), clickOf("c3", "CHILD", "v3")}
	out := s.recordClickGroup(context.Background(), groupProgram, clicks)
	seq := groupService(t)
	for i, c := range clicks {
		reply, err := seq.RecordClick(context.Background(), c.Command, NewClick{Program: groupProgram, Click: c.Click}, encodeClickPartner)
		got, want := describe(orderOutcome{Reply: out[i].Reply, Err: out[i].Err}), describe(orderOutcome{Reply: reply, Err: err})
		if got != want {
			t.Errorf("click %d: grouped %s, sequential %s", i, got, want)
		}
	}
	wantCode(t, "same key, other payload", out[2].Err, fault.CodeAlreadyExists, "idempotency_key")
	wantCode(t, "unknown partner", out[3].Err, fault.CodeNotFound, "partner")
	var n int
	must(t, s.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clicks WHERE program_id = $1`, groupProgram).Scan(&n))
	if n != 2 {
		t.Errorf("%d clicks recorded, want 2", n)
	}
}

// A batch for a program that does not exist fails each of its clicks
// with the program's fault.
func TestRecordClickGroupUnknownProgram(t *testing.T) {
	s := groupService(t)
	out := s.recordClickGroup(context.Background(), "nope", []BatchClick{clickOf("c1", "child", "v1"), clickOf("c2", "child", "v2")})
	for i, o := range out {
		wantCode(t, fmt.Sprintf("click %d", i), o.Err, fault.CodeNotFound, "program")
	}
}

// A batch that panics raises the panic in its caller (where the server's
// recovery answers it), not in the committer's goroutine, which would end
// the process.
func TestGroupPanicReachesTheCaller(t *testing.T) {
	g := newGroup(4, func(context.Context, string, []int) []int { panic("boom") })
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want boom", r)
		}
	}()
	_, _ = g.do(context.Background(), "lane", 1)
	t.Error("do returned, want its batch's panic")
}
