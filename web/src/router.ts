// Path routing: the cabinet lives under /portal/, the console under
// /admin/; internal/webui serves index.html for every such path.
import { useEffect, useState } from "preact/hooks";

/** The current path, updated on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return path;
}

/** Goes to path without reloading the page. */
export function go(path: string) {
  history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** An in-app link: a real <a> (keyboard, new tab) that routes in place. */
export function onLink(e: MouseEvent) {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute("href") ?? "/portal/");
}
