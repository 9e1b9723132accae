// The sign-in form for API keys (or none, on an open server). A sign-in
// link signs in without it: the server sets a session cookie and the page
// finds it (auth.ts).
import { useState } from "preact/hooks";

import { type Role, type Session, signInWithKey } from "./auth";
import { t } from "./i18n";
import { Field } from "./ui";

export function SignIn(p: { admin: boolean; onSignIn: (s: Session) => void }) {
  const [role, setRole] = useState<Role>(p.admin ? "admin" : "partner");
  const [program, setProgram] = useState("demo");
  const [partner, setPartner] = useState("");
  const [key, setKey] = useState("");
  return (
    <form class="card signin" onSubmit={(e) => { e.preventDefault(); p.onSignIn(signInWithKey(role, program.trim(), partner.trim(), key.trim())); }}>
      <h1>{t("Sign in")}</h1>
      <p class="muted">{t("Or open the sign-in link you were sent.")}</p>
      <label class="field">
        <span>{t("Role")}</span>
        <select name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
          <option value="partner">{t("Partner")}</option>
          <option value="admin">{t("Admin")}</option>
          <option value="auditor">{t("Auditor")}</option>
        </select>
      </label>
      <Field label={t("Program")} name="program" value={program} onInput={setProgram} required />
      {role === "partner" && <Field label={t("Partner")} name="partner" value={partner} onInput={setPartner} required />}
      <Field label={t("API key")} name="key" type="password" value={key} onInput={setKey} />
      <p class="muted small">{t("Leave empty on a server without API keys.")}</p>
      <button type="submit" class="primary">{t("Sign in")}</button>
    </form>
  );
}
