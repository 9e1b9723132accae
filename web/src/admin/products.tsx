// Products (a list per program: participates, shown to partners) and
// their promo materials; {code} in a URL or snippet becomes the partner's
// referral code in the cabinet.
import { useState } from "preact/hooks";

import { type Api, message, newKey } from "../api";
import { MaterialKind } from "../../gen/accrue/v1/product_pb";

/** A product as the page edits it. */
interface Product { product: string; name: string; participates: boolean; shownToPartners: boolean }
import { t } from "../i18n";
import { Alert, Field, Loaded, Table, useLoad } from "../ui";

export function Products({ api }: { api: Api }) {
  const program = api.session.program;
  const s = useLoad(() => api.products.listProducts({ program, pageSize: 1000 }), [program]);
  const [open, setOpen] = useState("");
  const [error, setError] = useState("");
  const put = async (p: Product) => {
    setError("");
    try {
      await api.products.putProduct({ program, idempotencyKey: newKey("ui:product"), product: p.product, name: p.name, participates: p.participates, shownToPartners: p.shownToPartners });
      s.reload();
    } catch (e) { setError(message(e)); }
  };
  return (
    <>
      <ProductForm onSave={put} />
      {error && <Alert text={error} />}
      <section class="card">
        <Loaded s={s}>{({ products }) => (
          <Table testid="products" head={[t("Product"), t("Name"), t("Participates"), t("Shown to partners"), ""]}
            rows={products.map((p) => [<code>{p.product}</code>, p.name,
              <input type="checkbox" aria-label={`${t("Participates")} ${p.product}`} checked={p.participates} onChange={() => put({ ...p, participates: !p.participates })} />,
              <input type="checkbox" aria-label={`${t("Shown to partners")} ${p.product}`} checked={p.shownToPartners} onChange={() => put({ ...p, shownToPartners: !p.shownToPartners })} />,
              <button type="button" aria-expanded={open === p.product} onClick={() => setOpen(open === p.product ? "" : p.product)}>{t("Materials")}</button>])} />
        )}</Loaded>
      </section>
      {open && <MaterialsOf api={api} product={open} key={open} />}
    </>
  );
}

function ProductForm(p: { onSave: (x: Product) => Promise<void> }) {
  const empty = { product: "", name: "", participates: true, shownToPartners: true };
  const [f, setF] = useState(empty);
  return (
    <form class="card" onSubmit={async (e) => { e.preventDefault(); await p.onSave({ ...f, product: f.product.trim(), name: f.name.trim() }); setF(empty); }}>
      <h2>{t("Add a product")}</h2>
      <div class="grid">
        <Field label={t("Product")} name="product_id" value={f.product} onInput={(v) => setF({ ...f, product: v })} required />
        <Field label={t("Name")} name="product_name" value={f.name} onInput={(v) => setF({ ...f, name: v })} required />
      </div>
      <label><input type="checkbox" checked={f.participates} onChange={() => setF({ ...f, participates: !f.participates })} /> {t("Participates")}</label>{" "}
      <label><input type="checkbox" checked={f.shownToPartners} onChange={() => setF({ ...f, shownToPartners: !f.shownToPartners })} /> {t("Shown to partners")}</label>
      <div class="actions"><button type="submit" class="primary">{t("Save")}</button></div>
    </form>
  );
}

const kinds: [MaterialKind, string][] = [[MaterialKind.BANNER, "Banner"], [MaterialKind.TEXT, "Text"], [MaterialKind.LINK, "Link"]];

function MaterialsOf(p: { api: Api; product: string }) {
  const program = p.api.session.program;
  const s = useLoad(() => p.api.products.listMaterials({ program, product: p.product }), [program, p.product]);
  const empty = { material: "", title: "", kind: MaterialKind.BANNER, url: "", html: "" };
  const [f, setF] = useState(empty);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    try {
      await p.api.products.putMaterial({ program, idempotencyKey: newKey("ui:material"), material: { ...f, product: p.product } });
      setNote({ ok: true, text: t("Saved.") });
      setF(empty);
      s.reload();
    } catch (err) { setNote({ ok: false, text: message(err) }); }
  };
  const remove = async (material: string) => {
    try {
      await p.api.products.deleteMaterial({ program, idempotencyKey: newKey("ui:material-delete"), product: p.product, material });
      s.reload();
    } catch (err) { setNote({ ok: false, text: message(err) }); }
  };
  return (
    <section class="card" aria-label={t("Materials") + " " + p.product}>
      <h2>{t("Materials")} · {p.product}</h2>
      <Loaded s={s}>{({ materials }) => (
        <Table testid="materials" head={[t("Material"), t("Title"), t("Kind"), "URL", "HTML", ""]}
          rows={materials.map((m) => [<code>{m.material}</code>, m.title, t(kinds.find((k) => k[0] === m.kind)?.[1] ?? ""),
            <code class="small">{m.url}</code>, <code class="small">{m.html}</code>,
            <button type="button" onClick={() => remove(m.material)}>{t("Delete")}</button>])} />
      )}</Loaded>
      <form onSubmit={save}>
        <h3>{t("Add a material")}</h3>
        <p class="muted small">{t("{code} in the URL or the snippet becomes the partner's code.", { code: "{code}" })}</p>
        <div class="grid">
          <Field label={t("Material")} name="material_id" value={f.material} onInput={(v) => setF({ ...f, material: v })} required />
          <Field label={t("Title")} name="material_title" value={f.title} onInput={(v) => setF({ ...f, title: v })} required />
          <label class="field"><span>{t("Kind")}</span>
            <select name="material_kind" value={String(f.kind)} onChange={(e) => setF({ ...f, kind: Number((e.target as HTMLSelectElement).value) as MaterialKind })}>
              {kinds.map(([k, label]) => <option value={String(k)}>{t(label)}</option>)}
            </select>
          </label>
          <Field label="URL" name="material_url" value={f.url} onInput={(v) => setF({ ...f, url: v })} />
        </div>
        <label class="field"><span>{t("HTML snippet")}</span>
          <textarea name="material_html" rows={3} value={f.html} onInput={(e) => setF({ ...f, html: (e.target as HTMLTextAreaElement).value })} />
        </label>
        <button type="submit" class="primary">{t("Save the material")}</button>
        {note && <Alert kind={note.ok ? "ok" : "error"} text={note.text} />}
      </form>
    </section>
  );
}
