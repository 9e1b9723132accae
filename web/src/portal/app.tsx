// The partner's cabinet.
import type { Api } from "../api";
import { t } from "../i18n";
import { Shell } from "../main";
import { Dashboard } from "./dashboard";
import { Lead } from "./lead";
import { Links } from "./links";
import { Materials } from "./materials";
import { Referrals } from "./referrals";
import { History, Remuneration } from "./remuneration";
import { Settings } from "./settings";
import { Stats } from "./stats";

export function PortalApp(p: { api: Api; path: string }) {
  const pages = [
    { path: "", title: t("Dashboard"), view: Dashboard },
    { path: "links", title: t("Links"), view: Links },
    { path: "materials", title: t("Promo materials"), view: Materials },
    { path: "stats", title: t("Statistics"), view: Stats },
    { path: "referrals", title: t("Your referrals"), view: Referrals },
    { path: "remuneration", title: t("Remuneration"), view: Remuneration },
    { path: "payouts", title: t("Payouts and spends"), view: History },
    { path: "lead", title: t("Send a request for a client"), view: Lead },
    { path: "settings", title: t("Settings"), view: Settings },
  ];
  return <Shell root="/portal/" pages={pages} path={p.path} api={p.api} />;
}

/** The partner a cabinet page is about. */
export function me(api: Api): { program: string; partner: string } {
  return { program: api.session.program, partner: api.session.partner ?? "" };
}
