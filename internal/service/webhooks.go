package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Webhook endpoints (issue 10): a program's events pushed to a URL, signed
// with the endpoint's secret (Standard Webhooks). The delivery worker is
// internal/webhook; this file holds the endpoints' use cases and the
// worker's transactions.

// Limits of webhook endpoints.
const (
	WebhookURLLenMax         = 2048
	WebhookDescriptionLenMax = 500
	// webhookSecretBytes is the secret's length: 24 bytes, as Svix's.
	webhookSecretBytes = 24
)

// WebhookInput is a new endpoint as the caller gives it.
type WebhookInput struct {
	Program, URL, Description string
	Types                     []string
}

// CreatedWebhook is a new endpoint and its secret, "whsec_" and the
// base64 of the secret bytes.
type CreatedWebhook struct {
	Endpoint store.Endpoint
	Secret   string
}

// EncodeSecret is the Standard Webhooks form of a secret.
func EncodeSecret(b []byte) string { return "whsec_" + base64.StdEncoding.EncodeToString(b) }

// CheckWebhookURL validates an endpoint URL named by field: absolute
// http or https with a host, at most WebhookURLLenMax characters. Where it
// may point is checked when sending (internal/webhook's address guard).
func CheckWebhookURL(field, raw string) error {
	if raw == "" || len(raw) > WebhookURLLenMax {
		return fault.InvalidArgument(field, "required, at most %d characters", WebhookURLLenMax)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fault.InvalidArgument(field, "must be an absolute http or https URL, got %q", raw)
	}
	return nil
}

func checkWebhook(in WebhookInput) error {
	if err := CheckWebhookURL("url", in.URL); err != nil {
		return err
	}
	if len(in.Description) > WebhookDescriptionLenMax {
		return fault.InvalidArgument("description", "at most %d characters", WebhookDescriptionLenMax)
	}
	return CheckEventTypes("event_types", in.Types)
}

// CreateWebhook registers an endpoint of an existing program with a new
// id and secret; it receives the events published from now on.
func (s *Service) CreateWebhook(ctx context.Context, c Command, in WebhookInput, encode Encode[CreatedWebhook]) (Reply, error) {
	if err := checkWebhook(in); err != nil {
		return Reply{}, err
	}
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (CreatedWebhook, error) {
		if _, err := ledger.LoadProgram(ctx, tx, c.Program); err != nil {
			return CreatedWebhook{}, err
		}
		secret, id := make([]byte, webhookSecretBytes), make([]byte, 12)
		_, _ = rand.Read(secret)
		_, _ = rand.Read(id)
		e := store.Endpoint{
			ID: "we_" + hex.EncodeToString(id), Program: c.Program, URL: in.URL,
			Description: in.Description, Types: orEmpty(in.Types), Secret: secret, Created: s.clock.Now(),
		}
		e, err := store.InsertEndpoint(ctx, tx, e)
		return CreatedWebhook{Endpoint: e, Secret: EncodeSecret(secret)}, err
	})
}

func orEmpty(types []string) []string {
	if types == nil {
		return []string{}
	}
	return types
}

// WebhookChange changes an endpoint; nil fields keep their value.
type WebhookChange struct {
	Program, Webhook string
	URL, Description *string
	Types            *[]string
	Disabled         *bool
}

// UpdateWebhook applies a change to an endpoint; fault NotFound on webhook
// when it is not there.
func (s *Service) UpdateWebhook(ctx context.Context, c Command, ch WebhookChange, encode Encode[store.Endpoint]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.Endpoint, error) {
		e, err := loadEndpoint(ctx, tx, ch.Program, ch.Webhook, store.ForUpdate)
		if err != nil {
			return e, err
		}
		e = ch.apply(e)
		if err := checkWebhook(WebhookInput{URL: e.URL, Description: e.Description, Types: e.Types}); err != nil {
			return store.Endpoint{}, err
		}
		e.Updated = s.clock.Now()
		return e, store.SaveEndpoint(ctx, tx, e)
	})
}

func (ch WebhookChange) apply(e store.Endpoint) store.Endpoint {
	if ch.URL != nil {
		e.URL = *ch.URL
	}
	if ch.Description != nil {
		e.Description = *ch.Description
	}
	if ch.Types != nil {
		e.Types = orEmpty(*ch.Types)
	}
	if ch.Disabled != nil {
		e.Disabled = *ch.Disabled
	}
	return e
}

func loadEndpoint(ctx context.Context, q ledger.Querier, program, id string, lock store.Lock) (store.Endpoint, error) {
	e, found, err := store.LoadEndpoint(ctx, q, program, id, lock)
	if err == nil && !found {
		err = fault.NotFound("webhook", "no webhook %q in program %q", id, program)
	}
	return e, err
}

// DeleteWebhook removes an endpoint with its delivery log; fault NotFound
// on webhook when it is not there.
func (s *Service) DeleteWebhook(ctx context.Context, c Command, id string, encode Encode[string]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (string, error) {
		found, err := store.DeleteEndpoint(ctx, tx, c.Program, id)
		if err == nil && !found {
			err = fault.NotFound("webhook", "no webhook %q in program %q", id, c.Program)
		}
		return id, err
	})
}

// Webhooks reads up to limit endpoints of program after id `after`.
func (s *Service) Webhooks(ctx context.Context, program, after string, limit int) ([]store.Endpoint, error) {
	return store.ListEndpoints(ctx, s.db.Pool, program, after, limit)
}

// Deliveries reads up to limit deliveries of an endpoint after id
// `after`, with their attempts; fault NotFound when the endpoint is not
// the program's.
func (s *Service) Deliveries(ctx context.Context, program, webhook string, after int64, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	err := s.db.ReadOnly(ctx, func(tx pgx.Tx) error {
		if _, err := loadEndpoint(ctx, tx, program, webhook, store.NoLock); err != nil {
			return err
		}
		var err error
		out, err = store.ListDeliveries(ctx, tx, webhook, after, limit)
		return err
	})
	return out, err
}

// RedeliverEvent queues one more delivery of a published event to an
// endpoint, due at once; fault NotFound naming webhook or event_id.
func (s *Service) RedeliverEvent(ctx context.Context, c Command, webhook string, event int64, encode Encode[store.Delivery]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.Delivery, error) {
		if _, err := loadEndpoint(ctx, tx, c.Program, webhook, store.NoLock); err != nil {
			return store.Delivery{}, err
		}
		id, found, err := store.Redeliver(ctx, tx, c.Program, webhook, event, s.clock.Now())
		if err == nil && !found {
			err = fault.NotFound("event_id", "no published event %d in program %q", event, c.Program)
		}
		if err != nil {
			return store.Delivery{}, err
		}
		ds, err := store.ListDeliveries(ctx, tx, webhook, id-1, 1)
		if err == nil && len(ds) != 1 {
			err = fault.NotFound("event_id", "delivery %d vanished", id)
		}
		if err != nil {
			return store.Delivery{}, err
		}
		return ds[0], nil
	})
}

// The delivery worker's transactions (internal/webhook drives them).

// ClaimWebhookLease takes or renews the delivery lease for holder.
func (s *Service) ClaimWebhookLease(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	return store.ClaimWebhookLease(ctx, s.db.Pool, holder, ttl)
}

// ReleaseWebhookLease gives the delivery lease up.
func (s *Service) ReleaseWebhookLease(ctx context.Context, holder string) error {
	return store.ReleaseWebhookLease(ctx, s.db.Pool, holder)
}

// FanOutDeliveries queues deliveries of newly published events, up to
// perEndpoint per endpoint.
func (s *Service) FanOutDeliveries(ctx context.Context, perEndpoint int) (int64, error) {
	var n int64
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = store.FanOut(ctx, tx, s.clock.Now(), perEndpoint)
		return err
	})
	return n, err
}

// DueDeliveries reads the deliveries to send now (store.DueDeliveries).
func (s *Service) DueDeliveries(ctx context.Context, perEndpoint, endpoints int) ([]store.Delivery, map[string]store.Endpoint, error) {
	return store.DueDeliveries(ctx, s.db.Pool, s.clock.Now(), perEndpoint, endpoints)
}

// RecordAttempts writes attempts and their deliveries' new states.
func (s *Service) RecordAttempts(ctx context.Context, attempts []store.Attempt) error {
	return s.db.Run(ctx, func(tx pgx.Tx) error { return store.RecordAttempts(ctx, tx, attempts) })
}

// WebhookFailures counts the deliveries marked failed. For the metrics
// endpoint.
func (s *Service) WebhookFailures(ctx context.Context) (int64, error) {
	return store.WebhookFailures(ctx, s.db.Pool)
}

// Now is the service's clock, for the delivery worker.
func (s *Service) Now() time.Time { return s.clock.Now() }

// OutboxState is what the outbox metrics show.
type OutboxState struct {
	// Unpublished events are committed and not yet in the feed; Pending
	// deliveries wait for their first try or a retry.
	Unpublished, Pending int64
	// Lag is the age of the oldest event not yet published or not yet
	// delivered to an endpoint subscribed to it (0 when none).
	Lag time.Duration
}

// OutboxState reads the publisher's and the deliveries' backlogs (two
// indexed reads), for metrics.
func (s *Service) OutboxState(ctx context.Context) (OutboxState, error) {
	unpublished, lag, err := s.OutboxLag(ctx)
	if err != nil {
		return OutboxState{}, err
	}
	pending, oldest, err := store.DeliveryBacklog(ctx, s.db.Pool)
	if err != nil {
		return OutboxState{}, err
	}
	if !oldest.IsZero() {
		lag = max(lag, s.clock.Now().Sub(oldest))
	}
	return OutboxState{Unpublished: unpublished, Pending: pending, Lag: lag}, nil
}
