// For auditors: the trial balance and the journal's verification.
import { useState } from "preact/hooks";

import { type Api, message } from "../api";
import type { VerifyJournalResponse } from "../../gen/accrue/v1/ledger_pb";
import { cmp } from "../dec";
import { count, money, t } from "../i18n";
import { Alert, Loaded, Table, useLoad } from "../ui";

export function Audit({ api }: { api: Api }) {
  const program = api.session.program;
  const s = useLoad(() => api.ledger.getTrialBalance({ program }), [program]);
  const [v, setV] = useState<VerifyJournalResponse | null>(null);
  const [error, setError] = useState("");
  const verify = async () => {
    setError("");
    try { setV(await api.ledger.verifyJournal({ program })); } catch (e) { setError(message(e)); }
  };
  return (
    <>
      <section class="card">
        <button type="button" class="primary" onClick={verify}>{t("Verify the journal")}</button>
        {error && <Alert text={error} />}
        {v && (
          <div data-testid="verify">
            <Alert kind={v.ok ? "ok" : "error"} text={v.ok ? t("The journal verifies.") : v.problems.join("; ")} />
            <p class="muted">{t("Checked {t} transactions, {a} accounts, {s} statements.", {
              t: count(v.transactionsChecked), a: count(v.accountsChecked), s: count(v.statementsChecked),
            })}</p>
          </div>
        )}
      </section>
      <section class="card">
        <h2>{t("Trial balance")}</h2>
        <Loaded s={s}>{(tb) => (
          <>
            <p>{t("Total debits")}: <b>{money(tb.totalDebits)}</b> · {t("Total credits")}: <b>{money(tb.totalCredits)}</b></p>
            <Table testid="trial-balance" head={[t("Account"), t("Balance")]}
              rows={tb.balances.filter((b) => cmp(b.balance, "0") !== 0).map((b) => [<code>{b.account}</code>, money(b.balance)])} />
            <p class="muted small">{t("{n} accounts with a zero balance are not shown.", { n: count(tb.balances.filter((b) => cmp(b.balance, "0") === 0).length) })}</p>
          </>
        )}</Loaded>
      </section>
    </>
  );
}
