// Webhooks: endpoints receiving the program's events (Standard Webhooks),
// their secret shown once, pause and resume, and each one's delivery log.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import { dateTime, t } from "../i18n";
import { Alert, CopyButton, Field, Loaded, Table, useLoad } from "../ui";

export function Webhooks({ api }: { api: Api }) {
  const program = api.session.program;
  const s = useLoad(() => api.events.listWebhooks({ program, pageSize: 1000 }), [program]);
  const [f, setF] = useState({ url: "", types: "", description: "" });
  const [secret, setSecret] = useState("");
  const [open, setOpen] = useState("");
  const [error, setError] = useState("");
  const create = async (e: Event) => {
    e.preventDefault();
    setError(""); setSecret("");
    try {
      const eventTypes = f.types.split(/[\s,]+/).filter(Boolean);
      const r = await api.events.createWebhook({ program, idempotencyKey: newKey("ui:webhook"), url: f.url.trim(), eventTypes, description: f.description.trim() });
      setSecret(r.secret);
      setF({ url: "", types: "", description: "" });
      s.reload();
    } catch (err) { setError(message(err)); }
  };
  const toggle = async (webhook: string, disabled: boolean) => {
    try {
      await api.events.updateWebhook({ program, idempotencyKey: newKey("ui:webhook-update"), webhook, disabled });
      s.reload();
    } catch (err) { setError(message(err)); }
  };
  return (
    <>
      <form class="card" onSubmit={create}>
        <h2>{t("Add an endpoint")}</h2>
        <div class="grid">
          <Field label="URL" name="webhook_url" type="url" value={f.url} onInput={(v) => setF({ ...f, url: v })} required />
          <Field label={t("Event types (all when empty)")} name="webhook_types" value={f.types} onInput={(v) => setF({ ...f, types: v })} placeholder="lead.submitted, order.paid" />
          <Field label={t("Description")} name="webhook_description" value={f.description} onInput={(v) => setF({ ...f, description: v })} />
        </div>
        <button type="submit" class="primary">{t("Add")}</button>
        {secret && (
          <p class="code-line" role="status">{t("Signing secret (shown once):")} <code data-testid="webhook-secret">{secret}</code> <CopyButton text={secret} /></p>
        )}
        {error && <Alert text={error} />}
      </form>
      <section class="card">
        <Loaded s={s}>{({ webhooks }) => (
          <Table testid="webhooks" head={["URL", t("Event types"), t("Status"), t("Created"), ""]}
            rows={webhooks.map((w) => [<code>{w.url}</code>, w.eventTypes.join(", ") || t("all"), t(w.disabled ? "paused" : "active"), dateTime(w.createdAt),
              <span class="actions">
                <button type="button" onClick={() => toggle(w.id, !w.disabled)}>{t(w.disabled ? "Resume" : "Pause")}</button>
                <button type="button" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? "" : w.id)}>{t("Deliveries")}</button>
              </span>])} />
        )}</Loaded>
      </section>
      {open && <Deliveries api={api} webhook={open} key={open} />}
    </>
  );
}

function Deliveries(p: { api: Api; webhook: string }) {
  const program = p.api.session.program;
  const s = useLoad(() => p.api.events.listDeliveries({ program, webhook: p.webhook, pageSize: 1000 }), [program, p.webhook]);
  const [note, setNote] = useState("");
  const redeliver = async (eventId: string) => {
    try {
      await p.api.events.redeliverEvent({ program, idempotencyKey: newKey("ui:redeliver"), webhook: p.webhook, eventId });
      setNote(t("Queued again."));
      s.reload();
    } catch (err) { setNote(message(err)); }
  };
  return (
    <section class="card" aria-label={t("Deliveries")}>
      <h2>{t("Deliveries")} <button type="button" onClick={s.reload}>{t("Refresh")}</button></h2>
      {note && <Alert kind="ok" text={note} />}
      <Loaded s={s}>{({ deliveries }) => (
        <Table testid="deliveries" head={[t("Queued"), t("Event"), t("Status"), t("Attempts"), ""]}
          rows={[...deliveries].reverse().map((d) => [dateTime(d.createdAt), <span><code>{d.eventType}</code> <span class="muted small">{d.eventId}</span></span>,
            <span data-testid="delivery-status">{t(d.status)}</span>,
            d.attempts.map((a) => `${dateTime(a.at)} ${a.statusCode || ""} ${a.error}`.trim()).join("; "),
            <button type="button" onClick={() => redeliver(d.eventId)}>{t("Redeliver")}</button>])} />
      )}</Loaded>
    </section>
  );
}
