package service

import (
	"context"
	"fmt"
	"testing"

	"github.com/accrue/accrue/internal/fault"
)

// encodeClickID encodes a recorded click as its partner and id.
func encodeClickID(c RecordedClick) ([]byte, error) {
	return fmt.Appendf(nil, "%s %d", c.Partner, c.ID), nil
}

// batchClickOf is a RecordClicks click of visitor on partner under key,
// encoded by the call's encoder.
func batchClickOf(key, partner, visitor string) BatchClick {
	c := clickOf(key, partner, visitor)
	c.encode = nil
	return c
}

// clickRow is the partner and visitor of the click with id, and whether
// it exists.
func clickRow(t *testing.T, s *Service, id int64) (partner, visitor string, ok bool) {
	t.Helper()
	err := s.db.Pool.QueryRow(context.Background(), `SELECT partner_id, visitor FROM clicks WHERE program_id = $1 AND id = $2`,
		groupProgram, id).Scan(&partner, &visitor)
	return partner, visitor, err == nil
}

// Once a reference has resolved, its clicks go the one-statement path and
// answer exactly as the transaction path: a new key is recorded under a
// reserved id that its response names, a recorded key replays or is
// refused, and a reference not known yet is resolved and remembered.
func TestKnownClicksAnswerAsTheTransactionPath(t *testing.T) {
	ctx := context.Background()
	s := groupService(t)
	first, err := s.RecordClicks(ctx, groupProgram, []BatchClick{batchClickOf("w1", "child", "v0")}, encodeClickID)
	must(t, err)
	if first[0].Err != nil {
		t.Fatalf("first click: %v", first[0].Err)
	}
	if got := s.known.partner(groupProgram, "child"); got != "child" {
		t.Fatalf("reference child remembered as %q, want child", got)
	}
	if len(s.known.ids) != 0 {
		t.Fatalf("%d ids reserved by the transaction path, want none", len(s.known.ids))
	}

	clicks := []BatchClick{batchClickOf("k1", "child", "v1"), batchClickOf("w1", "child", "v0"), batchClickOf("w1", "child", "v9"),
		batchClickOf("k2", "CHILD", "v2"), batchClickOf("k3", "nobody", "v3"), batchClickOf("k1", "child", "v1")}
	out, err := s.RecordClicks(ctx, groupProgram, clicks, encodeClickID)
	must(t, err)
	if len(s.known.ids) != clickIDsBlock-2 {
		// k1 and w1 (whose recorded key then sends it the other way).
		t.Errorf("%d reserved ids left, want %d: two known clicks went the one-statement path", len(s.known.ids), clickIDsBlock-2)
	}
	var id int64
	var partner string
	if _, err := fmt.Sscanf(string(out[0].Body), "%s %d", &partner, &id); err != nil || out[0].Replayed {
		t.Fatalf("known click: %q replayed=%v, %v", out[0].Body, out[0].Replayed, out[0].Err)
	}
	if p, v, ok := clickRow(t, s, id); !ok || p != "child" || v != "v1" {
		t.Errorf("click %d: partner %q visitor %q found=%v, want child v1", id, p, v, ok)
	}
	if string(out[1].Body) != string(first[0].Body) || !out[1].Replayed {
		t.Errorf("recorded key: %q replayed=%v, want a replay of %q", out[1].Body, out[1].Replayed, first[0].Body)
	}
	wantCode(t, "recorded key, other payload", out[2].Err, fault.CodeAlreadyExists, "idempotency_key")
	if out[3].Err != nil || s.known.partner(groupProgram, "CHILD") != "child" {
		t.Errorf("new reference CHILD: %v, remembered as %q", out[3].Err, s.known.partner(groupProgram, "CHILD"))
	}
	wantCode(t, "unknown partner", out[4].Err, fault.CodeNotFound, "partner")
	if string(out[5].Body) != string(out[0].Body) || !out[5].Replayed {
		t.Errorf("key repeated in the call: %q replayed=%v, want a replay of %q", out[5].Body, out[5].Replayed, out[0].Body)
	}
	var n int
	must(t, s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM clicks WHERE program_id = $1`, groupProgram).Scan(&n))
	if n != 3 {
		t.Errorf("%d clicks recorded, want 3 (w1, k1, k2)", n)
	}

	again, err := s.RecordClicks(ctx, groupProgram, clicks[:1], encodeClickID)
	must(t, err)
	if string(again[0].Body) != string(out[0].Body) || !again[0].Replayed {
		t.Errorf("retry of k1: %q replayed=%v, want a replay of %q", again[0].Body, again[0].Replayed, out[0].Body)
	}
}

// A remembered partner the reference no longer resolves to writes
// nothing on the one-statement path: the click goes the transaction path,
// is recorded for the partner the reference names now, and that is
// remembered.
func TestKnownClickWithAStalePartnerIsResolvedAgain(t *testing.T) {
	ctx := context.Background()
	s := groupService(t)
	s.known.remember(groupProgram, "child", "parent") // as if the code had moved
	out, err := s.RecordClicks(ctx, groupProgram, []BatchClick{batchClickOf("k1", "child", "v1")}, encodeClickID)
	must(t, err)
	var id int64
	var partner string
	if _, err := fmt.Sscanf(string(out[0].Body), "%s %d", &partner, &id); err != nil || partner != "child" {
		t.Fatalf("click: %q, %v; want it recorded for child", out[0].Body, out[0].Err)
	}
	if p, _, ok := clickRow(t, s, id); !ok || p != "child" {
		t.Errorf("click %d: partner %q found=%v, want child", id, p, ok)
	}
	if got := s.known.partner(groupProgram, "child"); got != "child" {
		t.Errorf("reference child remembered as %q, want child", got)
	}
	var n int
	must(t, s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM clicks WHERE program_id = $1`, groupProgram).Scan(&n))
	if n != 1 {
		t.Errorf("%d clicks recorded, want 1", n)
	}
}
