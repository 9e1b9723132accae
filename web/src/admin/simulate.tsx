// Simulate an order under the rules in force: every line's rate and where
// it comes from, the upline's shares.
import { useState } from "preact/hooks";

import { type Api, message } from "../api";
import type { Plan } from "../../gen/accrue/v1/program_pb";
import { money, t } from "../i18n";
import { Alert, Field, Table } from "../ui";

export function Simulate({ api }: { api: Api }) {
  const [partner, setPartner] = useState("");
  const [shipping, setShipping] = useState("");
  const [lines, setLines] = useState([{ product: "bag", amount: "100.00" }]);
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState("");
  const setLine = (i: number, k: "product" | "amount") => (v: string) => setLines(lines.map((l, j) => (j === i ? { ...l, [k]: v } : l)));
  const run = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const r = await api.programs.simulateOrder({ program: api.session.program, partner: partner.trim(), lines, shipping: shipping.trim() });
      setPlan(r.plan ?? null);
    } catch (err) { setPlan(null); setError(message(err)); }
  };
  return (
    <form class="card" onSubmit={run} aria-label={t("Simulate an order")}>
      <h2>{t("Simulate an order")}</h2>
      <div class="grid">
        <Field label={t("Partner")} name="sim_partner" value={partner} onInput={setPartner} />
        <Field label={t("Shipping")} name="sim_shipping" value={shipping} onInput={setShipping} placeholder="0.00" />
      </div>
      {lines.map((l, i) => (
        <div class="grid">
          <Field label={t("Product")} name={`sim_product_${i}`} value={l.product} onInput={setLine(i, "product")} />
          <Field label={t("Amount")} name={`sim_amount_${i}`} value={l.amount} onInput={setLine(i, "amount")} />
        </div>
      ))}
      <div class="actions">
        <button type="button" onClick={() => setLines([...lines, { product: "", amount: "" }])}>{t("Add a line")}</button>
        <button type="submit" class="primary">{t("Simulate")}</button>
      </div>
      {error && <Alert text={error} />}
      {plan && (
        <div data-testid="plan">
          <p>{t("Sales")}: <b>{money(plan.sales)}</b> · {t("Commission")}: <b data-testid="plan-commission">{money(plan.commission)}</b> · {t("Rules version")} {plan.rulesVersion}{plan.tier && ` · ${t("Tier")} ${plan.tier}`}</p>
          <Table testid="plan-lines" head={[t("Product"), t("Amount"), t("Rate"), t("Commission"), t("Where it comes from")]}
            rows={plan.lines.map((l) => [l.product, money(l.amount), l.rate, money(l.commission), [l.source, l.note].filter(Boolean).join(" · ")])} />
          {plan.upline.length > 0 && (
            <Table head={[t("Level"), t("Partner"), t("Rate"), t("Where it comes from"), t("Amount")]}
              rows={plan.upline.map((u) => [u.level, u.partner, u.rate, `${u.base} ${money(u.baseAmount)}`, money(u.amount)])} />
          )}
        </div>
      )}
    </form>
  );
}
