// Payouts: everyone payable at or above the minimum, the amount filled
// in; pay selected or all; the pending batch settled, failed or exported
// as CSV for the bank.
import { useState } from "preact/hooks";

import { type Api, download, message, newKey, terms } from "../api";
import { PayoutStatus } from "../../gen/accrue/v1/payout_pb";
import { cmp } from "../dec";
import { date, money, t } from "../i18n";
import { Alert, Loaded, Table, useLoad } from "../ui";

/** Partners whose payable balance is positive and at least the minimum. */
async function payable(api: Api, program: string) {
  const [tb, tr] = await Promise.all([api.ledger.getTrialBalance({ program }), terms(api, program)]);
  const rows = tb.balances
    .filter((b) => b.account.startsWith("partner:") && b.account.endsWith(":payable"))
    .map((b) => ({ partner: b.account.slice("partner:".length, -":payable".length), amount: b.balance }))
    .filter((r) => cmp(r.amount, "0") > 0 && cmp(r.amount, tr.payoutMinimum) >= 0);
  return { rows, cur: tr.currency };
}

/** A CSV field, quoted when it must be. */
function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function Payouts({ api }: { api: Api }) {
  const program = api.session.program;
  const due = useLoad(() => payable(api, program), [program]);
  const pending = useLoad(async () => (await api.payouts.listPayouts({ program, includePrivate: true, pageSize: 1000 }))
    .payouts.filter((p) => p.status === PayoutStatus.PENDING), [program]);
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [picked, setPicked] = useState<Record<string, boolean>>({});
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const reload = () => { due.reload(); pending.reload(); };
  const pay = async (partners: { partner: string; amount: string }[]) => {
    setNote(null);
    let n = 0;
    try {
      for (const r of partners) {
        await api.payouts.createPayout({
          program, partner: r.partner, amount: amounts[r.partner] ?? r.amount,
          payout: `ui-${r.partner}-${crypto.randomUUID().slice(0, 8)}`, idempotencyKey: newKey("ui:payout"), method: "bank",
        });
        n++;
      }
      setNote({ ok: true, text: t("Paid {n} partners.", { n }) });
    } catch (e) { setNote({ ok: false, text: `${t("Paid {n} partners.", { n })} ${message(e)}` }); }
    setPicked({});
    reload();
  };
  const act = async (payout: string, settle: boolean) => {
    setNote(null);
    try {
      const req = { program, payout, idempotencyKey: newKey(settle ? "ui:settle" : "ui:fail") };
      await (settle ? api.payouts.settlePayout(req) : api.payouts.failPayout({ ...req, reason: "failed at the bank" }));
    } catch (e) { setNote({ ok: false, text: message(e) }); }
    reload();
  };
  return (
    <>
      {note && <Alert kind={note.ok ? "ok" : "error"} text={note.text} />}
      <section class="card">
        <h2>{t("Everyone payable at or above the minimum")}</h2>
        <Loaded s={due}>{({ rows, cur }) => rows.length === 0 ? <p class="muted">{t("Nobody is payable.")}</p> : (
          <>
            <Table testid="payable" head={[t("Select"), t("Partner"), t("Payable"), t("Amount")]} rows={rows.map((r) => [
              <input type="checkbox" aria-label={`${t("Select")} ${r.partner}`} checked={!!picked[r.partner]}
                onChange={(e) => setPicked({ ...picked, [r.partner]: (e.target as HTMLInputElement).checked })} />,
              r.partner, money(r.amount, cur),
              <input class="amount" name={`amount_${r.partner}`} aria-label={`${t("Amount")} ${r.partner}`} value={amounts[r.partner] ?? r.amount}
                onInput={(e) => setAmounts({ ...amounts, [r.partner]: (e.target as HTMLInputElement).value })} />,
            ])} />
            <div class="actions">
              <button type="button" disabled={!rows.some((r) => picked[r.partner])} onClick={() => pay(rows.filter((r) => picked[r.partner]))}>{t("Pay selected")}</button>
              <button type="button" class="primary" onClick={() => pay(rows)}>{t("Pay all")}</button>
            </div>
          </>
        )}</Loaded>
      </section>
      <section class="card">
        <h2>{t("Pending payouts")}</h2>
        <Loaded s={pending}>{(ps) => (
          <>
            <Table testid="pending" head={[t("Date"), t("Partner"), t("Amount"), t("Bank account"), ""]} rows={ps.map((p) => [
              date(p.createdAt), p.partner, money(p.amount), p.bankAccount,
              <span class="actions">
                <button type="button" onClick={() => act(p.id, true)}>{t("Settle")}</button>
                <button type="button" onClick={() => act(p.id, false)}>{t("Fail")}</button>
              </span>,
            ])} />
            {ps.length > 0 && (
              <button type="button" onClick={() => download(`payouts-${program}.csv`, ["payout,partner,amount,bank_account,bank_name",
                ...ps.map((p) => [p.id, p.partner, p.amount, p.bankAccount, p.bankName].map(csvField).join(","))].join("\n") + "\n")}>
                {t("Export CSV")}
              </button>
            )}
          </>
        )}</Loaded>
      </section>
    </>
  );
}
