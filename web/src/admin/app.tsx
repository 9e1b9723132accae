// The admin console.
import { useState } from "preact/hooks";

import type { Api } from "../api";
import { type Session, saveSession } from "../auth";
import { t } from "../i18n";
import { Shell } from "../main";
import { Audit } from "./audit";
import { Closes } from "./closes";
import { Partners } from "./partners";
import { Payouts } from "./payouts";
import { Products } from "./products";
import { Rules } from "./rules";
import { Webhooks } from "./webhooks";

export function AdminApp(p: { api: Api; path: string; onProgram: (s: Session) => void }) {
  const [program, setProgram] = useState(p.api.session.program);
  const pages = [
    { path: "", title: t("Rules"), view: Rules },
    { path: "partners", title: t("Partners"), view: Partners },
    { path: "closes", title: t("Closes"), view: Closes },
    { path: "payouts", title: t("Payouts"), view: Payouts },
    { path: "products", title: t("Products and materials"), view: Products },
    { path: "webhooks", title: t("Webhooks"), view: Webhooks },
    { path: "audit", title: t("Audit"), view: Audit },
  ];
  return (
    <>
      <form class="program-bar" onSubmit={(e) => {
        e.preventDefault();
        const s = { ...p.api.session, program: program.trim() };
        saveSession(s);
        p.onProgram(s);
      }}>
        <label>{t("Program")} <input name="program" value={program} onInput={(e) => setProgram((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">OK</button>
      </form>
      <Shell root="/admin/" pages={pages} path={p.path} api={p.api} />
    </>
  );
}
