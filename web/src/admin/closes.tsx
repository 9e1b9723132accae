// Closing a period, with a live progress bar: ClosePeriod runs while the
// page polls GetPeriod for partners done of total.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import { type PeriodState, PeriodStatus } from "../../gen/accrue/v1/payout_pb";
import { count, money, t } from "../i18n";
import { Alert, Field, monthOf, Progress } from "../ui";

/** How often the page asks for the close's progress, in ms. */
const pollEvery = 150;

export function Closes({ api }: { api: Api }) {
  const program = api.session.program;
  const [period, setPeriod] = useState(monthOf(-1));
  const [state, setState] = useState<PeriodState | null>(null);
  const [result, setResult] = useState("");
  const [error, setError] = useState("");
  const [running, setRunning] = useState(false);
  const close = async (e: Event) => {
    e.preventDefault();
    setError(""); setResult(""); setRunning(true);
    let live = true;
    const poll = async () => {
      while (live) {
        try { setState((await api.periods.getPeriod({ program, period })).period ?? null); } catch { /* the close reports */ }
        await new Promise((r) => setTimeout(r, pollEvery));
      }
    };
    void poll();
    try {
      const r = await api.periods.closePeriod({ program, period, idempotencyKey: newKey("ui:close") });
      setResult(`${t("Closed")} ${r.period}: ${t("Statements")} ${count(r.statements)}, ${t("Released")} ${money(r.released)}${r.alreadyClosed ? " (" + t("already closed") + ")" : ""}`);
    } catch (err) { setError(message(err)); }
    live = false;
    setState((await api.periods.getPeriod({ program, period }).catch(() => null))?.period ?? null);
    setRunning(false);
  };
  const done = state?.status === PeriodStatus.CLOSED ? state.partnersTotal || 1 : state?.partnersDone ?? 0;
  const total = state?.status === PeriodStatus.CLOSED ? state.partnersTotal || 1 : state?.partnersTotal ?? 0;
  return (
    <form class="card" onSubmit={close}>
      <h2>{t("Close a period")}</h2>
      <Field label={t("Period")} name="period" value={period} onInput={setPeriod} placeholder="YYYY-MM" required />
      <button type="submit" class="primary" disabled={running}>{t("Close")}</button>
      {state && (
        <Progress label={t("Partners done")} done={String(done)} total={String(total)}
          text={`${count(state.partnersDone)} / ${count(state.partnersTotal)} · ${t("Released")} ${money(state.released)}`} />
      )}
      {result && <Alert kind="ok" text={result} />}
      {error && <Alert text={error} />}
    </form>
  );
}
