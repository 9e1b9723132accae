// The partner's referral tree, breadth first as the API lists it, drawn
// indented by depth, with each one's join date and the upline income its
// own orders brought ("Income from referral program from <login>").
import type { Api } from "../api";
import { terms } from "../api";
import { PartnerStatus } from "../../gen/accrue/v1/program_pb";
import { date, money, t } from "../i18n";
import { Loaded, useLoad } from "../ui";
import { me } from "./app";

export function Referrals({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const s = useLoad(async () => {
    const [l, tr] = await Promise.all([api.partners.listReferrals({ program, partner, pageSize: 1000 }), terms(api, program)]);
    return { referrals: l.referrals, cur: tr.currency };
  }, [program, partner]);
  return (
    <Loaded s={s}>{({ referrals, cur }) => {
      if (!referrals.length) return <p class="muted">{t("Nothing yet.")}</p>;
      // Depth first for drawing: each partner under its parent.
      const kids = new Map<string, typeof referrals>();
      for (const r of referrals) kids.set(r.parent, [...(kids.get(r.parent) ?? []), r]);
      const tree = (parent: string): preact.JSX.Element => (
        <ul class="tree">
          {(kids.get(parent) ?? []).map((r) => (
            <li data-testid="referral" data-partner={r.partner}>
              <span class="who">{r.partner}</span>{" "}
              <span class="muted">{t("Level")} {r.depth} · {t(r.status === PartnerStatus.SUSPENDED ? "suspended" : "active")} · {t("Joined")} {date(r.registeredAt)}</span>
              <div class="small">{t("Income from referral program from {login}", { login: r.partner })}: <b data-testid="upline-income" data-amount={r.uplineIncome}>{money(r.uplineIncome, cur)}</b></div>
              {kids.has(r.partner) && tree(r.partner)}
            </li>
          ))}
        </ul>
      );
      return <section class="card">{tree(partner)}</section>;
    }}</Loaded>
  );
}
