// The partner's contact and bank details (private), with the history of
// their changes.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import type { PartnerPrivate } from "../../gen/accrue/v1/program_pb";
import { dateTime, t } from "../i18n";
import { Alert, Field, Loaded, Table, useLoad } from "../ui";
import { me } from "./app";

type Details = Pick<PartnerPrivate, "email" | "name" | "bankAccount" | "bankName">;

const labels: Record<string, string> = { email: "E-mail", name: "Contact name", bank_account: "Bank account", bank_name: "Bank name" };

export function Settings({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const current = useLoad(() => api.partners.getPartner({ program, partner, includePrivate: true }), [program, partner]);
  const history = useLoad(() => api.portal.listSettingsChanges({ program, partner, includePrivate: true, pageSize: 100 }), [program, partner]);
  return (
    <>
      <Loaded s={current}>{(r) => <Form api={api} initial={r.partner?.private} onSaved={history.reload} />}</Loaded>
      <section class="card">
        <h2>{t("History of changes")}</h2>
        <Loaded s={history}>{({ changes }) => (
          <Table testid="settings-history" head={[t("Date"), t("By"), t("Changed"), t("Bank account")]}
            rows={changes.map((c) => [dateTime(c.at), t(c.by), c.changed.map((k) => t(labels[k] ?? k)).join(", "), c.private?.bankAccount ?? ""])} />
        )}</Loaded>
      </section>
    </>
  );
}

function Form(p: { api: Api; initial?: Details; onSaved: () => void }) {
  const { program, partner } = me(p.api);
  const [f, setF] = useState<Details>({ email: p.initial?.email ?? "", name: p.initial?.name ?? "", bankAccount: p.initial?.bankAccount ?? "", bankName: p.initial?.bankName ?? "" });
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: keyof Details) => (v: string) => setF({ ...f, [k]: v });
  const save = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    try {
      const r = await p.api.portal.updateSettings({ program, partner, idempotencyKey: newKey("ui:settings"), private: f });
      setNote({ ok: true, text: r.changed.length ? t("Saved.") : t("Nothing changed.") });
      p.onSaved();
    } catch (err) { setNote({ ok: false, text: message(err) }); }
  };
  return (
    <form class="card" onSubmit={save}>
      <h2>{t("Contact and bank details")}</h2>
      <p class="muted small">{t("Only you and the program's admins see these.")}</p>
      <div class="grid">
        <Field label={t("Contact name")} name="name" value={f.name} onInput={set("name")} />
        <Field label={t("E-mail")} name="email" type="email" value={f.email} onInput={set("email")} />
        <Field label={t("Bank account")} name="bank_account" value={f.bankAccount} onInput={set("bankAccount")} />
        <Field label={t("Bank name")} name="bank_name" value={f.bankName} onInput={set("bankName")} />
      </div>
      <button type="submit" class="primary">{t("Save")}</button>
      {note && <Alert kind={note.ok ? "ok" : "error"} text={note.text} />}
    </form>
  );
}
