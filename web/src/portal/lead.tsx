// "Send a request for a client": a partner-submitted lead; the order the
// shop later pays with the lead's id is attributed to the partner.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import { dateTime, t } from "../i18n";
import { Alert, Field, Loaded, Table, useLoad } from "../ui";
import { me } from "./app";

export function Lead({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const leads = useLoad(() => api.portal.listLeads({ program, partner, pageSize: 100 }), [program, partner]);
  const empty = { customerName: "", contact: "", note: "" };
  const [f, setF] = useState(empty);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    try {
      const r = await api.portal.submitLead({ program, partner, idempotencyKey: newKey("ui:lead"), customerName: f.customerName.trim(), contact: f.contact.trim(), note: f.note.trim() });
      setNote({ ok: true, text: t("Request {id} sent.", { id: r.lead?.lead ?? "" }) });
      setF(empty);
      leads.reload();
    } catch (err) { setNote({ ok: false, text: message(err) }); }
  };
  return (
    <>
      <form class="card" onSubmit={submit} aria-label={t("Send a request for a client")}>
        <p class="muted">{t("The shop contacts the client; the order is credited to you.")}</p>
        <div class="grid">
          <Field label={t("Client's name")} name="customer_name" value={f.customerName} onInput={set("customerName")} required />
          <Field label={t("E-mail or phone")} name="contact" value={f.contact} onInput={set("contact")} required />
        </div>
        <label class="field"><span>{t("Note")}</span>
          <textarea name="note" rows={3} value={f.note} maxLength={2000} onInput={(e) => set("note")((e.target as HTMLTextAreaElement).value)} />
        </label>
        <button type="submit" class="primary">{t("Send")}</button>
        {note && <Alert kind={note.ok ? "ok" : "error"} text={note.text} />}
      </form>
      <section class="card">
        <h2>{t("Your requests")}</h2>
        <Loaded s={leads}>{({ leads }) => (
          <Table testid="leads" head={[t("Date"), t("Request"), t("Client's name"), t("E-mail or phone"), t("Note")]}
            rows={leads.map((l) => [dateTime(l.submittedAt), <code>{l.lead}</code>, l.customerName, l.contact, l.note])} />
        )}</Loaded>
      </section>
    </>
  );
}
