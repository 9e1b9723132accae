// Small shared pieces of the pages.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

import { message } from "./api";
import { ratio } from "./dec";
import { t } from "./i18n";

/** The state of a load: its data, its error, and a way to load again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e) => live && setState({ error: message(e), loading: false }),
    );
    return () => { live = false; };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** Shows a load's error, its spinner, or its content. */
export function Loaded<T>(p: { s: { data?: T; error?: string; loading: boolean }; children: (d: T) => ComponentChildren }) {
  if (p.s.error) return <Alert text={p.s.error} />;
  if (p.s.data === undefined) return <p class="muted" aria-busy="true">{t("Loading…")}</p>;
  return <>{p.children(p.s.data)}</>;
}

export function Alert(p: { text: string; kind?: "error" | "ok" }) {
  return <p class={"alert " + (p.kind ?? "error")} role={p.kind === "ok" ? "status" : "alert"}>{p.text}</p>;
}

/** A labelled input. */
export function Field(p: { label: string; value: string; onInput: (v: string) => void; name?: string; type?: "text" | "url" | "email" | "search" | "password"; placeholder?: string; required?: boolean }) {
  return (
    <label class="field">
      <span>{p.label}</span>
      <input {...({ type: p.type ?? "text" } as object)} name={p.name} value={p.value} placeholder={p.placeholder} required={p.required}
        onInput={(e) => p.onInput((e.target as HTMLInputElement).value)} />
    </label>
  );
}

/** A progress bar of done out of total (decimal strings or counts). */
export function Progress(p: { done: string; total: string; label: string; text: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(ratio(p.done, p.total) * 100)));
  return (
    <div class="progress-wrap">
      <div class="progress-label"><span>{p.label}</span><span data-testid="progress-text">{p.text}</span></div>
      <div class="progress" role="progressbar" aria-label={p.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div style={{ width: pct + "%" }} />
      </div>
    </div>
  );
}

/** A bar chart of labelled values (decimal strings), hand-drawn in SVG. */
export function BarChart(p: { title: string; bars: { label: string; value: string; shown: string }[] }) {
  const w = 600, h = 200, pad = 24;
  const max = p.bars.reduce((m, b) => (ratio(b.value, m) > 1 ? b.value : m), "0");
  const bw = p.bars.length ? (w - pad) / p.bars.length : 0;
  return (
    <figure class="chart">
      <figcaption>{p.title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h + pad}`} role="img" aria-label={p.title}>
        {p.bars.map((b, i) => {
          const bh = Math.max(0, ratio(b.value, max)) * (h - pad);
          return (
            <g key={b.label}>
              <rect x={pad / 2 + i * bw + 4} y={h - bh} width={Math.max(2, bw - 8)} height={bh} class="bar"><title>{`${b.label}: ${b.shown}`}</title></rect>
              <text x={pad / 2 + i * bw + bw / 2} y={h + 16} text-anchor="middle" class="axis">{b.label}</text>
              {bh > 0 && <text x={pad / 2 + i * bw + bw / 2} y={h - bh - 4} text-anchor="middle" class="val">{b.shown}</text>}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** A button that copies text. */
export function CopyButton(p: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button type="button" onClick={async () => {
      try { await navigator.clipboard.writeText(p.text); } catch { /* the text stays selectable */ }
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    }}>{done ? t("Copied") : t("Copy")}</button>
  );
}

/** A table with headers, or "Nothing yet." when it has no row. */
export function Table(p: { head: string[]; rows: ComponentChildren[][]; testid?: string }) {
  if (!p.rows.length) return <p class="muted">{t("Nothing yet.")}</p>;
  return (
    <div class="table-wrap">
      <table data-testid={p.testid}>
        <thead><tr>{p.head.map((h) => <th scope="col">{h}</th>)}</tr></thead>
        <tbody>{p.rows.map((r) => <tr>{r.map((c) => <td>{c}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

/** Months from..to inclusive, "YYYY-MM". */
export function months(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = from.split("-").map(Number);
  const [ty, tm] = to.split("-").map(Number);
  while ((y < ty || (y === ty && m <= tm)) && out.length < 120) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m++;
    if (m > 12) { m = 1; y++; }
  }
  return out;
}

/** This month, "YYYY-MM" (UTC), and the month n months before it. */
export function monthOf(offset = 0, now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}
