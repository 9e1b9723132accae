// The partner's cabinet.
import type { Api } from "../api";
import { t } from "../i18n";
import { Shell } from "../main";
import { Dashboard } from "./dashboard";
import { Links } from "./links";
import { Referrals } from "./referrals";
import { History, Remuneration } from "./remuneration";
import { Stats } from "./stats";

export function PortalApp(p: { api: Api; path: string }) {
  const pages = [
    { path: "", title: t("Dashboard"), view: Dashboard },
    { path: "links", title: t("Links"), view: Links },
    { path: "stats", title: t("Statistics"), view: Stats },
    { path: "referrals", title: t("Your referrals"), view: Referrals },
    { path: "remuneration", title: t("Remuneration"), view: Remuneration },
    { path: "payouts", title: t("Payouts and spends"), view: History },
  ];
  return <Shell root="/portal/" pages={pages} path={p.path} api={p.api} />;
}

/** The partner a cabinet page is about. */
export function me(api: Api): { program: string; partner: string } {
  return { program: api.session.program, partner: api.session.partner ?? "" };
}
