package server

import (
	"context"
	"strconv"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// changedBy is who a call changes settings as: the partner when a partner
// key or session makes it, else an admin.
func changedBy(ctx context.Context) string {
	if p, ok := auth.PrincipalOf(ctx); ok && p.Role == auth.RolePartner {
		return service.SettingsByPartner
	}
	return service.SettingsByAdmin
}

func privateToProto(m map[string]string) *accruev1.PartnerPrivate {
	return &accruev1.PartnerPrivate{Email: m["email"], Name: m["name"], BankAccount: m["bank_account"], BankName: m["bank_name"]}
}

// UpdateSettings replaces a partner's private details and records the
// change.
func (s *portalService) UpdateSettings(ctx context.Context, req *connect.Request[accruev1.UpdateSettingsRequest]) (*connect.Response[accruev1.UpdateSettingsResponse], error) {
	m := req.Msg
	if err := checkProgramPartner(m.GetProgram(), m.GetPartner()); err != nil {
		return nil, err
	}
	if m.GetPrivate() == nil {
		return nil, fault.InvalidArgument("private", "required: the details as they are to be")
	}
	private, err := privateFromProto(m.GetPrivate())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.UpdateSettings(ctx, commandOf(m), m.GetPartner(), changedBy(ctx), private, func(st service.Settings) ([]byte, error) {
		return encodeProto(&accruev1.UpdateSettingsResponse{Private: privateToProto(st.Private), Changed: st.Changed})
	})
	return reply(r.Body, r.Replayed, err, func(resp *accruev1.UpdateSettingsResponse, b bool) { resp.Replayed = b })
}

// ListSettingsChanges pages through a partner's settings history.
func (s *portalService) ListSettingsChanges(ctx context.Context, req *connect.Request[accruev1.ListSettingsChangesRequest]) (*connect.Response[accruev1.ListSettingsChangesResponse], error) {
	m := req.Msg
	if err := checkProgramPartner(m.GetProgram(), m.GetPartner()); err != nil {
		return nil, err
	}
	pg, before, err := readSeqPage(m)
	if err != nil {
		return nil, err
	}
	changes, err := s.svc.SettingsChanges(ctx, m.GetProgram(), m.GetPartner(), before, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListSettingsChangesResponse{}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, settingsChangeToProto(c, m.GetIncludePrivate()))
	}
	if len(changes) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, strconv.FormatInt(changes[len(changes)-1].Seq, 10))
	}
	return connect.NewResponse(resp), nil
}

func settingsChangeToProto(c store.SettingsChange, withPrivate bool) *accruev1.SettingsChange {
	out := &accruev1.SettingsChange{At: stamp(c.At), By: c.By, Changed: c.Changed}
	if withPrivate {
		out.Private = privateToProto(c.Private)
	}
	return out
}
