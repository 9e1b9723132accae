// Who the page speaks for, and the headers that say so. Three ways in:
//  - "cookie": a session from a sign-in link (GET /portal/signin sets an
//    HttpOnly cookie; GET /portal/session tells the page its role and CSRF
//    token, which every call carries in X-Accrue-CSRF);
//  - "key": an API key typed into the sign-in form, kept in sessionStorage
//    (this tab only) and sent as a bearer token;
//  - "open": no key, for a server run without --api-keys (make run).

export type Role = "admin" | "auditor" | "partner";

export interface Session {
  via: "cookie" | "key" | "open";
  role: Role;
  /** The program the pages show; an admin may switch it. */
  program: string;
  /** The partner of a partner session. */
  partner?: string;
  token?: string;
  csrf?: string;
}

const storageKey = "accrue.session";
export const csrfHeader = "X-Accrue-CSRF";

/** The cookie session, if the server has one for this browser. */
async function cookieSession(): Promise<Session | null> {
  try {
    const r = await fetch("/portal/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok || !(r.headers.get("content-type") ?? "").includes("json")) return null;
    const j = await r.json();
    return { via: "cookie", role: j.role, program: j.program === "*" ? "" : j.program, partner: j.partner, csrf: j.csrf_token };
  } catch {
    return null;
  }
}

/** The current session: the cookie's, else the one stored in this tab. */
export async function currentSession(): Promise<Session | null> {
  const c = await cookieSession();
  if (c) return c;
  const s = sessionStorage.getItem(storageKey);
  return s ? (JSON.parse(s) as Session) : null;
}

/** Signs in with an API key (or none, on an open server). */
export function signInWithKey(role: Role, program: string, partner: string, token: string): Session {
  const s: Session = { via: token ? "key" : "open", role, program, partner: role === "partner" ? partner : undefined, token: token || undefined };
  sessionStorage.setItem(storageKey, JSON.stringify(s));
  return s;
}

/** Remembers a changed session (an admin switching programs). */
export function saveSession(s: Session) {
  if (s.via !== "cookie") sessionStorage.setItem(storageKey, JSON.stringify(s));
}

/** Ends the session: the server's cookie, or the stored key. */
export async function signOut(s: Session) {
  sessionStorage.removeItem(storageKey);
  if (s.via === "cookie") {
    await fetch("/portal/signout", { method: "POST", credentials: "same-origin", headers: { [csrfHeader]: s.csrf ?? "" } });
  }
}

/** The headers every call of s carries. */
export function authHeaders(s: Session): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.token) h["Authorization"] = "Bearer " + s.token;
  if (s.csrf) h[csrfHeader] = s.csrf;
  return h;
}
