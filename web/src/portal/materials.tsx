// Promo materials per product shown to partners, with the partner's code
// already in every URL and HTML snippet, and copy buttons.
import type { Api } from "../api";
import { MaterialKind } from "../../gen/accrue/v1/product_pb";
import { t } from "../i18n";
import { CopyButton, Loaded, useLoad } from "../ui";
import { me } from "./app";

const kinds: Record<number, string> = { [MaterialKind.BANNER]: "Banner", [MaterialKind.TEXT]: "Text", [MaterialKind.LINK]: "Link" };

export function Materials({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const s = useLoad(() => api.products.listPartnerMaterials({ program, partner, pageSize: 1000 }), [program, partner]);
  return (
    <Loaded s={s}>{({ products }) => products.length === 0 ? <p class="muted">{t("Nothing yet.")}</p> : (
      <>
        {products.map(({ product, materials }) => (
          <section class="card" data-testid="product" aria-label={product?.name}>
            <h2>{product?.name} <span class="muted small">{product?.product}{product?.participates ? "" : " · " + t("earns no commission")}</span></h2>
            {materials.length === 0 && <p class="muted">{t("Nothing yet.")}</p>}
            {materials.map((m) => (
              <div class="material" data-testid="material">
                <h3>{m.title} <span class="muted small">{t(kinds[m.kind] ?? "")}</span></h3>
                {m.url && <p class="code-line"><code data-testid="material-url">{m.url}</code> <CopyButton text={m.url} /></p>}
                {m.html && (
                  <div class="snippet">
                    <label class="field"><span>{t("HTML snippet")}</span>
                      <textarea readOnly rows={3} data-testid="snippet" value={m.html} onFocus={(e) => (e.target as HTMLTextAreaElement).select()} />
                    </label>
                    <CopyButton text={m.html} />
                  </div>
                )}
              </div>
            ))}
          </section>
        ))}
      </>
    )}</Loaded>
  );
}
