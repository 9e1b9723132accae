// The referral-link builder: landing page and UTM tags, with copy buttons.
import { useState } from "preact/hooks";

import { type Api, message } from "../api";
import { t } from "../i18n";
import { Alert, CopyButton, Field, Loaded, useLoad } from "../ui";
import { me } from "./app";

export function Links({ api }: { api: Api }) {
  const { program, partner } = me(api);
  const p = useLoad(() => api.partners.getPartner({ program, partner }), [program, partner]);
  const [f, setF] = useState({ landing: "https://", utmSource: "", utmMedium: "", utmCampaign: "" });
  const [link, setLink] = useState("");
  const [error, setError] = useState("");
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const build = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      setLink((await api.partners.getReferralLink({ program, partner, ...f })).url);
    } catch (err) {
      setLink("");
      setError(message(err));
    }
  };
  return (
    <>
      <Loaded s={p}>{(r) => (
        <section class="card">
          <h2>{t("Your code")}</h2>
          <p class="code-line"><code data-testid="code">{r.partner?.code}</code> <CopyButton text={r.partner?.code ?? ""} /></p>
        </section>
      )}</Loaded>
      <form class="card" onSubmit={build}>
        <h2>{t("Referral link builder")}</h2>
        <div class="grid">
          <Field label={t("Landing page")} name="landing" value={f.landing} onInput={set("landing")} type="url" required />
          <Field label={t("UTM source")} name="utm_source" value={f.utmSource} onInput={set("utmSource")} />
          <Field label={t("UTM medium")} name="utm_medium" value={f.utmMedium} onInput={set("utmMedium")} />
          <Field label={t("UTM campaign")} name="utm_campaign" value={f.utmCampaign} onInput={set("utmCampaign")} />
        </div>
        <button type="submit" class="primary">{t("Build the link")}</button>
        {error && <Alert text={error} />}
        {link && (
          <p class="code-line">
            <output data-testid="link">{link}</output> <CopyButton text={link} />
          </p>
        )}
      </form>
    </>
  );
}
