// The rules editor: checks the document as one types (ValidateRules,
// which locates each fault at its path and line), saves a new
// version, and simulates an order with the provenance of every amount.
import { useEffect, useRef, useState } from "preact/hooks";

import { type Api, checkRules, message, newKey } from "../api";
import type { ValidateRulesResponse } from "../../gen/accrue/v1/program_pb";
import { t } from "../i18n";
import { Alert, Loaded, useLoad } from "../ui";
import { Simulate } from "./simulate";

export function Rules({ api }: { api: Api }) {
  const program = api.session.program;
  const s = useLoad(() => api.programs.getRules({ program }), [program]);
  return (
    <Loaded s={s}>{(r) => (
      <>
        <Editor api={api} initial={r.version?.document ?? ""} version={r.version?.version ?? 0} />
        <Simulate api={api} />
      </>
    )}</Loaded>
  );
}

function Editor(p: { api: Api; initial: string; version: number }) {
  const [doc, setDoc] = useState(p.initial);
  const [check, setCheck] = useState<ValidateRulesResponse | null>(null);
  const [saved, setSaved] = useState("");
  const [error, setError] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const timer = setTimeout(() => checkRules(p.api, doc, ctl.signal).then(setCheck, () => {}), 200);
    return () => { clearTimeout(timer); ctl.abort(); };
  }, [doc]);
  const lines = doc.split("\n");
  const bad = new Set((check?.faults ?? []).map((f) => f.line));
  const jump = (line: number) => {
    const el = area.current;
    if (!el || line < 1) return;
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };
  const save = async () => {
    setError(""); setSaved("");
    try {
      const r = await p.api.programs.putRules({ program: p.api.session.program, idempotencyKey: newKey("ui:rules"), document: doc });
      setSaved(t("Saved version {v}.", { v: r.version?.version ?? 0 }));
    } catch (e) { setError(message(e)); }
  };
  return (
    <section class="card">
      <h2>{t("Rules version")} {p.version}</h2>
      <div class="editor">
        <pre class="gutter" aria-hidden="true">{lines.map((_, i) => <span class={bad.has(i + 1) ? "bad" : ""}>{i + 1}</span>)}</pre>
        <textarea ref={area} name="rules" spellcheck={false} aria-label={t("Rules")} rows={Math.max(12, lines.length + 1)}
          value={doc} onInput={(e) => setDoc((e.target as HTMLTextAreaElement).value)} aria-invalid={check ? !check.ok : undefined} />
      </div>
      <div aria-live="polite" data-testid="rules-check">
        {check?.ok && <Alert kind="ok" text={t("The document is valid.")} />}
        {check && !check.ok && (
          <ul class="faults">
            {check.faults.map((f) => (
              <li data-testid="fault" data-line={f.line}>
                <button type="button" class="link" onClick={() => jump(f.line)}>{t("line {n}", { n: f.line })}</button>
                {f.path && <code>{f.path}</code>}: {f.reason}
              </li>
            ))}
          </ul>
        )}
      </div>
      <button type="button" class="primary" disabled={!check?.ok} onClick={save}>{t("Save a new version")}</button>
      {saved && <Alert kind="ok" text={saved} />}
      {error && <Alert text={error} />}
    </section>
  );
}
