// Partners: search, register, suspend or activate, issue a sign-in link.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import { SignInRole } from "../../gen/accrue/v1/portal_pb";
import { PartnerStatus } from "../../gen/accrue/v1/program_pb";
import { date, dateTime, t } from "../i18n";
import { Alert, CopyButton, Field, Loaded, Table, useLoad } from "../ui";

/** The most rows the list shows; the search narrows it. */
const shownMax = 100;

export function Partners({ api }: { api: Api }) {
  const program = api.session.program;
  const s = useLoad(() => api.partners.listPartners({ program, pageSize: 1000 }), [program]);
  const [q, setQ] = useState("");
  const [error, setError] = useState("");
  const [link, setLink] = useState<{ partner: string; url: string; expires: string } | null>(null);
  const issue = async (partner: string) => {
    setError(""); setLink(null);
    try {
      const r = await api.portal.createSignInLink({ program, role: SignInRole.PARTNER, partner });
      setLink({ partner, url: location.origin + r.path, expires: dateTime(r.expiresAt) });
    } catch (e) { setError(message(e)); }
  };
  const setStatus = async (partner: string, status: PartnerStatus) => {
    setError("");
    try {
      await api.partners.updatePartner({ program, partner, status, idempotencyKey: newKey("ui:status"), updateMask: { paths: ["status"] } });
      s.reload();
    } catch (e) { setError(message(e)); }
  };
  return (
    <>
      <Register api={api} onDone={s.reload} />
      <section class="card">
        <Field label={t("Search")} name="search" value={q} onInput={setQ} type="search" />
        {error && <Alert text={error} />}
        {link && (
          <div class="alert ok" role="status" data-testid="signin-link">
            <p>{t("Sign-in link for {p}, single use, valid until {t}:", { p: link.partner, t: link.expires })}</p>
            <p class="code-line"><code data-testid="signin-url">{link.url}</code> <CopyButton text={link.url} /></p>
          </div>
        )}
        <Loaded s={s}>{({ partners }) => {
          const found = partners.filter((x) => !q || (x.id + " " + x.code).toLowerCase().includes(q.toLowerCase()));
          return (
            <>
              <Table testid="partners" head={[t("Partner"), t("Code"), t("Parent"), t("Status"), t("Joined"), ""]}
                rows={found.slice(0, shownMax).map((x) => {
                  const suspended = x.status === PartnerStatus.SUSPENDED;
                  return [x.id, x.code, x.parent, t(suspended ? "suspended" : "active"), date(x.registeredAt),
                    <span class="actions">
                      <button type="button" onClick={() => setStatus(x.id, suspended ? PartnerStatus.ACTIVE : PartnerStatus.SUSPENDED)}>
                        {t(suspended ? "Activate" : "Suspend")}
                      </button>
                      <button type="button" onClick={() => issue(x.id)}>{t("Sign-in link")}</button>
                    </span>];
                })} />
              {found.length > shownMax && <p class="muted small">{t("Showing {n} of {m}; search to narrow.", { n: shownMax, m: found.length })}</p>}
            </>
          );
        }}</Loaded>
      </section>
    </>
  );
}

function Register(p: { api: Api; onDone: () => void }) {
  const [f, setF] = useState({ partner: "", code: "", parent: "", email: "" });
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await p.api.partners.registerPartner({
        program: p.api.session.program, idempotencyKey: newKey("ui:register"), partner: f.partner.trim(), code: f.code.trim(),
        parent: f.parent.trim(), private: f.email ? { email: f.email.trim() } : undefined,
      });
      setNote({ ok: true, text: t("Saved.") });
      setF({ partner: "", code: "", parent: "", email: "" });
      p.onDone();
    } catch (err) { setNote({ ok: false, text: message(err) }); }
  };
  return (
    <form class="card" onSubmit={submit}>
      <h2>{t("Register a partner")}</h2>
      <div class="grid">
        <Field label={t("Partner")} name="new_partner" value={f.partner} onInput={set("partner")} required />
        <Field label={t("Code")} name="new_code" value={f.code} onInput={set("code")} />
        <Field label={t("Parent")} name="new_parent" value={f.parent} onInput={set("parent")} />
        <Field label={t("E-mail")} name="new_email" value={f.email} onInput={set("email")} type="email" />
      </div>
      <button type="submit" class="primary">{t("Register")}</button>
      {note && <Alert kind={note.ok ? "ok" : "error"} text={note.text} />}
    </form>
  );
}
