// The dashboard: balances, progress to the payout minimum, this month's
// figures and commission by month.
import { type Api, terms } from "../api";
import { sum } from "../dec";
import { count, money, month, percent, t } from "../i18n";
import { BarChart, Loaded, monthOf, months, Progress, useLoad } from "../ui";
import { me } from "./app";

export const balanceKinds = ["pending", "accrued", "payable", "in_payout"] as const;
const labels: Record<string, string> = { pending: "Pending", accrued: "Accrued", payable: "Payable", in_payout: "In payout" };

/** The partner's four balances, by kind. */
export async function balances(api: Api, program: string, partner: string) {
  const { balances } = await api.ledger.getBalances({ program, accounts: balanceKinds.map((k) => `partner:${partner}:${k}`) });
  const by: Record<string, string> = {};
  for (const b of balances) by[b.account.split(":")[2]] = b.balance;
  return by;
}

/** Stats rows summed by month. */
export function byMonth(rows: { month: string; clicks: bigint; orders: bigint; commission: string }[]) {
  const out = new Map<string, { clicks: bigint; orders: bigint; commission: string }>();
  for (const r of rows) {
    const m = out.get(r.month) ?? { clicks: 0n, orders: 0n, commission: "0" };
    out.set(r.month, { clicks: m.clicks + r.clicks, orders: m.orders + r.orders, commission: sum(m.commission, r.commission) });
  }
  return out;
}

export function Dashboard({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const from = monthOf(-11), to = monthOf(0);
  const s = useLoad(async () => {
    const [b, tr, st] = await Promise.all([
      balances(api, program, partner), terms(api, program),
      api.tracking.getStats({ program, partner, fromMonth: from, toMonth: to }),
    ]);
    return { b, tr, m: byMonth(st.rows) };
  }, [program, partner]);
  return (
    <Loaded s={s}>{({ b, tr, m }) => {
      const cur = tr.currency;
      const now = m.get(to) ?? { clicks: 0n, orders: 0n, commission: "0" };
      return (
        <>
          <section class="cards" aria-label={t("Balance")}>
            {balanceKinds.map((k) => (
              <div class="card stat" data-testid={"balance-" + k}>
                <span class="label">{t(labels[k])}</span>
                <span class="value" data-amount={b[k]}>{money(b[k], cur)}</span>
              </div>
            ))}
          </section>
          <section class="card">
            <Progress label={t("Progress to the payout minimum")} done={b.accrued ?? "0"} total={tr.payoutMinimum}
              text={t("{a} of {b}", { a: money(b.accrued, cur), b: money(tr.payoutMinimum, cur) })} />
          </section>
          <section class="card">
            <h2>{t("This month")} · {month(to)}</h2>
            <dl class="figures">
              <div><dt>{t("Clicks")}</dt><dd data-testid="month-clicks">{count(now.clicks)}</dd></div>
              <div><dt>{t("Orders")}</dt><dd>{count(now.orders)}</dd></div>
              <div><dt>{t("Conversion")}</dt><dd>{percent(Number(now.orders), Number(now.clicks))}</dd></div>
              <div><dt>{t("Commission")}</dt><dd>{money(now.commission, cur)}</dd></div>
            </dl>
          </section>
          <section class="card">
            <BarChart title={t("Commission by month")} bars={months(from, to).map((x) => {
              const v = m.get(x)?.commission ?? "0";
              return { label: month(x), value: v, shown: money(v, cur) };
            })} />
          </section>
        </>
      );
    }}</Loaded>
  );
}
