// Shared by the browser tests: Debian's chromium driven by playwright-core,
// headless, in a fresh profile, with nothing fetched from outside.
// internal/webui's browser test runs each scenario with the base URL of an
// accrued it started: node web/e2e/<scenario>.mjs BASE_URL SCREENSHOT_DIR.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const [base, shots] = process.argv.slice(2);

/** Starts the browser; the profile is deleted by close(). */
export async function browser() {
  const profile = mkdtempSync(join(tmpdir(), "accrue-e2e-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, acceptDownloads: true, viewport: { width: 1200, height: 860 }, locale: "en-US",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-default-apps"],
  });
  ctx.setDefaultTimeout(15000);
  // Only accrued may be reached: any other request fails the test.
  const outside = [];
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith("blob:") || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    page, ctx,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
      check(outside.length === 0, `requests outside accrued: ${outside.join(", ")}`);
      check(errors.length === 0, `page errors: ${errors.join("; ")}`);
    },
  };
}

/** Fails the scenario with why unless ok. */
export function check(ok, why) {
  if (!ok) {
    console.error("FAIL: " + why);
    process.exit(1);
  }
}

/** Calls the API over Connect's JSON protocol, as a shop's back end would. */
export async function rpc(method, body) {
  const r = await fetch(`${base}/accrue.v1.${method}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const j = await r.json();
  check(r.ok, `${method}: ${JSON.stringify(j)}`);
  return j;
}

/** Saves a screenshot of the page as docs/screenshots/<name>.png. */
export async function shot(page, name) {
  await page.screenshot({ path: join(shots, name + ".png"), fullPage: true });
}

/** Signs in through the form (a server without API keys). */
export async function signIn(page, path, fields) {
  await page.goto(base + path);
  await page.selectOption("select[name=role]", fields.role);
  await page.fill("input[name=program]", fields.program);
  if (fields.partner) await page.fill("input[name=partner]", fields.partner);
  await page.click("button[type=submit]");
}
