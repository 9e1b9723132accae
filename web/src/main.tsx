// The web UI: the partner's cabinet (/portal/) and the admin console
// (/admin/), one page app over the Connect API.
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";

import { AdminApp } from "./admin/app";
import { type Api, connect } from "./api";
import { currentSession, type Session, signOut } from "./auth";
import { currentLang, type Lang, setLang, t } from "./i18n";
import { PortalApp } from "./portal/app";
import { go, onLink, usePath } from "./router";
import { SignIn } from "./signin";
import "./style.css";

/** A page of an app: its path under the app's root and its title. */
export interface Page { path: string; title: string; view: (p: { api: Api }) => preact.JSX.Element }

function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [, setLangState] = useState<Lang>(currentLang());
  useEffect(() => { currentSession().then(setSession); }, []);
  const api = useMemo(() => (session ? connect(session) : null), [session]);
  const admin = path.startsWith("/admin");
  if (session === undefined) return <p class="muted">{t("Loading…")}</p>;
  const changeLang = (l: Lang) => { setLang(l); setLangState(l); };
  const header = (
    <header class="top">
      <a href={admin ? "/admin/" : "/portal/"} onClick={onLink} class="brand">accrue · {admin ? t("Admin console") : t("Partner's cabinet")}</a>
      <span class="spacer" />
      <label class="lang">
        <span class="sr-only">Language</span>
        <select value={currentLang()} onChange={(e) => changeLang((e.target as HTMLSelectElement).value as Lang)}>
          <option value="en">English</option>
          <option value="ru">Русский</option>
        </select>
      </label>
      {session && <span class="who" data-testid="who">{session.partner ?? session.role} · {session.program}</span>}
      {session && <button type="button" onClick={async () => { await signOut(session); setSession(null); }}>{t("Sign out")}</button>}
    </header>
  );
  if (!session || !api) {
    return <>{header}<main><SignIn admin={admin} onSignIn={(s) => { setSession(s); go(s.role === "partner" ? "/portal/" : admin ? path : "/admin/"); }} /></main></>;
  }
  return (
    <>
      {header}
      {admin ? <AdminApp api={api} path={path} onProgram={setSession} /> : <PortalApp api={api} path={path} />}
    </>
  );
}

/** The nav bar and the current page of an app rooted at root. */
export function Shell(p: { root: string; pages: Page[]; path: string; api: Api }) {
  const page = p.pages.find((x) => p.root + x.path === p.path) ?? p.pages[0];
  useEffect(() => { document.title = `${page.title} · accrue`; }, [page]);
  return (
    <div class="shell">
      <nav aria-label="Pages">
        <ul>
          {p.pages.map((x) => (
            <li><a href={p.root + x.path} onClick={onLink} aria-current={x === page ? "page" : undefined}>{x.title}</a></li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <h1>{page.title}</h1>
        <page.view api={p.api} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
