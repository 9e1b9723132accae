// Monthly statements with every line, CSV and PDF downloads; payout and
// store-credit spend history.
import { useState } from "preact/hooks";

import { type Api, download, message, terms } from "../api";
import { PayoutStatus } from "../../gen/accrue/v1/payout_pb";
import { date, dateTime, money, month, t } from "../i18n";
import { Alert, Loaded, Table, useLoad } from "../ui";
import { me } from "./app";

const payoutStatus: Record<number, string> = { [PayoutStatus.PENDING]: "pending", [PayoutStatus.SETTLED]: "settled", [PayoutStatus.FAILED]: "failed" };

/** The path of a statement's PDF (the portal backend's download route). */
export function pdfPath(program: string, partner: string, period: string) {
  return `/v1/statements/${encodeURIComponent(program)}/${encodeURIComponent(partner)}/${period}.pdf`;
}

export function Remuneration({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const s = useLoad(async () => {
    const [l, tr] = await Promise.all([api.periods.listStatements({ program, partner, pageSize: 120 }), terms(api, program)]);
    return { statements: [...l.statements].reverse(), cur: tr.currency };
  }, [program, partner]);
  const [open, setOpen] = useState("");
  const [error, setError] = useState("");
  const csv = async (period: string) => {
    try {
      const { csv } = await api.periods.exportStatements({ program, partner, period });
      download(`statement-${program}-${partner}-${period}.csv`, csv);
    } catch (e) { setError(message(e)); }
  };
  return (
    <Loaded s={s}>{({ statements, cur }) => (
      <>
        {error && <Alert text={error} />}
        <Table testid="statements" head={[t("Period"), t("Status"), t("Released"), t("Payable"), t("Due"), ""]}
          rows={statements.map((st) => [
            month(st.period), t(st.status), money(st.released, cur), money(st.closing?.payable, cur), st.dueDate,
            <span class="actions">
              <button type="button" aria-expanded={open === st.period} onClick={() => setOpen(open === st.period ? "" : st.period)}>{t("Statement")}</button>
              <button type="button" onClick={() => csv(st.period)}>{t("Download CSV")}</button>
              <a class="button" href={pdfPath(program, partner, st.period)} download>{t("Download PDF")}</a>
            </span>,
          ])} />
        {statements.filter((st) => st.period === open).map((st) => (
          <section class="card" aria-label={t("Statement") + " " + st.period}>
            <h2>{t("Statement")} · {month(st.period)} · {t(st.status)}</h2>
            <dl class="figures">
              {(["pending", "accrued", "payable", "inPayout"] as const).map((k) => (
                <div><dt>{k}</dt><dd>{money(st.opening?.[k], cur)} → {money(st.closing?.[k], cur)}</dd></div>
              ))}
            </dl>
            <Table testid="statement-lines" head={[t("Date"), t("Kind"), t("Description"), t("Order"), t("Account"), t("Amount")]}
              rows={st.lines.map((l) => [dateTime(l.at), l.kind, l.description, l.order, l.account.split(":").pop(), money(l.amount, cur)])} />
          </section>
        ))}
      </>
    )}</Loaded>
  );
}

export function History({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const s = useLoad(async () => {
    const [p, l, tr] = await Promise.all([
      api.payouts.listPayouts({ program, partner, pageSize: 1000 }),
      api.periods.listStatements({ program, partner, pageSize: 120 }), terms(api, program),
    ]);
    const spends = l.statements.flatMap((st) => st.lines.filter((x) => x.kind.startsWith("spend")));
    return { payouts: [...p.payouts].reverse(), spends: spends.reverse(), cur: tr.currency };
  }, [program, partner]);
  return (
    <Loaded s={s}>{({ payouts, spends, cur }) => (
      <>
        <section class="card">
          <h2>{t("Payouts")}</h2>
          <Table testid="payouts" head={[t("Date"), t("Amount"), t("Status"), t("Method"), t("Reference")]}
            rows={payouts.map((x) => [date(x.createdAt), money(x.amount, cur), t(payoutStatus[x.status] ?? ""), x.method, x.reference])} />
        </section>
        <section class="card">
          <h2>{t("Spends")}</h2>
          <Table head={[t("Date"), t("Description"), t("Order"), t("Amount")]}
            rows={spends.map((x) => [dateTime(x.at), x.description, x.order, money(x.amount, cur)])} />
        </section>
      </>
    )}</Loaded>
  );
}
