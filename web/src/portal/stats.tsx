// Statistics by advertising source (UTM) and month: a chart and a table.
import { type Api, terms } from "../api";
import { sum } from "../dec";
import { count, money, month, percent, t } from "../i18n";
import { BarChart, Loaded, monthOf, Table, useLoad } from "../ui";
import { me } from "./app";

export function Stats({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const from = monthOf(-11), to = monthOf(0);
  const s = useLoad(async () => {
    const [st, tr] = await Promise.all([api.tracking.getStats({ program, partner, fromMonth: from, toMonth: to }), terms(api, program)]);
    return { rows: st.rows, cur: tr.currency };
  }, [program, partner]);
  return (
    <Loaded s={s}>{({ rows, cur }) => {
      const bySource = new Map<string, string>();
      for (const r of rows) bySource.set(r.utmSource, sum(bySource.get(r.utmSource) ?? "0", r.commission));
      const src = (x: string) => x || t("(no source)");
      return (
        <>
          <section class="card">
            <BarChart title={t("By advertising source") + " · " + t("Commission")}
              bars={[...bySource].map(([k, v]) => ({ label: src(k), value: v, shown: money(v, cur) }))} />
          </section>
          <section class="card">
            <Table testid="stats" head={[t("Month"), t("Source"), t("Clicks"), t("Unique visitors"), t("Orders"), t("Conversion"), t("Revenue"), t("Commission")]}
              rows={rows.map((r) => [month(r.month), src(r.utmSource), count(r.clicks), count(r.uniqueVisitors), count(r.orders),
                percent(Number(r.orders), Number(r.clicks)), money(r.revenue, cur), money(r.commission, cur)])} />
          </section>
        </>
      );
    }}</Loaded>
  );
}
