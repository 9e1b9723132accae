// A partner signs in by a link issued through the API (its confirmation
// page POSTs the token), sees balances equal to the API's, builds a
// referral link, takes a banner snippet carrying its code, sees a
// referral's upline income, submits a lead (the Go test's webhook
// receiver waits for it), changes its bank details, signs out; a second
// partner signs in by link and downloads a statement PDF whose text shows
// the released amount. Every page is photographed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { base, browser, check, rpc, shot } from "./lib.mjs";

const program = "demo", partner = "alice";
const lead = process.argv[4] ?? "Мария Иванова";

// The shop's back end: a product shown to partners with a banner.
await rpc("ProductService/PutProduct", { program, idempotencyKey: "e2e:bag", product: "bag", name: "Leather bag", participates: true, shownToPartners: true });
await rpc("ProductService/PutMaterial", { program, idempotencyKey: "e2e:banner", material: { product: "bag", material: "spring-banner", title: "Spring banner",
  kind: "MATERIAL_KIND_BANNER", url: "https://shop.example/bags?ref={code}",
  html: '<a href="https://shop.example/bags?ref={code}"><img src="https://shop.example/banner.png" alt="Bags"></a>' } });

const { page, close } = await browser();

/** Signs in as who by a fresh link: the confirmation page, then its button. */
async function signInByLink(who, shotName) {
  const link = await rpc("PortalService/CreateSignInLink", { program, role: "SIGN_IN_ROLE_PARTNER", partner: who });
  await page.goto(base + link.path);
  await page.waitForSelector("form[action='/portal/signin'] button");
  if (shotName) await shot(page, shotName);
  await page.click("form[action='/portal/signin'] button");
  await page.waitForURL(base + "/portal/");
  await page.waitForSelector("[data-testid=who]");
  const whoText = await page.textContent("[data-testid=who]");
  check(whoText.startsWith(who), `signed in as "${whoText}", want ${who}`);
}
await signInByLink(partner, "portal-signin-confirm");
console.log(`sign-in: by link as ${partner}`);

// Dashboard: each balance shows the amount GetBalances answers.
const kinds = ["pending", "accrued", "payable", "in_payout"];
const api = await rpc("LedgerService/GetBalances", { program, accounts: kinds.map((k) => `partner:${partner}:${k}`) });
await page.waitForSelector("[data-testid=balance-accrued] .value");
for (const b of api.balances) {
  const kind = b.account.split(":")[2];
  const shown = await page.getAttribute(`[data-testid=balance-${kind}] .value`, "data-amount");
  check(shown === b.balance, `balance ${kind}: page ${shown}, API ${b.balance}`);
}
const progress = await page.textContent("[data-testid=progress-text]");
check(progress.includes(" of ") && progress.includes("100.00"), `progress to the minimum reads "${progress}"`);
console.log(`dashboard: balances equal the API's (${api.balances.map((b) => b.balance).join(", ")}); progress "${progress}"`);
await shot(page, "portal-dashboard");

// Links: the builder's link carries the code and the UTM tags.
await page.click("nav >> text=Links");
await page.waitForSelector("[data-testid=code]");
await page.fill("input[name=landing]", "https://shop.example/bags");
await page.fill("input[name=utm_source]", "newsletter");
await page.fill("input[name=utm_campaign]", "spring");
await page.click("text=Build the link");
const built = await page.textContent("[data-testid=link]");
const u = new URL(built);
check(u.searchParams.get("ref") === "ALICE" && u.searchParams.get("utm_source") === "newsletter" && u.searchParams.get("utm_campaign") === "spring",
  `referral link ${built}`);
console.log(`links: built ${built}`);
await shot(page, "portal-links");

// Materials: the banner's snippet carries alice's code.
await page.click("nav >> text=Promo materials");
await page.waitForSelector("[data-testid=snippet]");
const snippet = await page.inputValue("[data-testid=snippet]");
check(snippet.includes("ref=ALICE") && !snippet.includes("{code}"), `banner snippet ${snippet}`);
check(await page.locator("[data-testid=material] >> text=Copy").count() === 2, "the URL and the snippet have copy buttons");
console.log(`materials: ${snippet}`);
await shot(page, "portal-materials");

// Referrals: bob, with his join date and the upline income he brought.
const refs = await rpc("PartnerService/ListReferrals", { program, partner });
const bob = refs.referrals.find((r) => r.partner === "bob");
await page.click("nav >> text=Your referrals");
await page.waitForSelector("[data-testid=referral][data-partner=bob] [data-testid=upline-income]");
const income = await page.getAttribute("[data-testid=referral][data-partner=bob] [data-testid=upline-income]", "data-amount");
check(income === bob.uplineIncome && Number(income) > 0, `bob's upline income: page ${income}, API ${bob.uplineIncome}`);
check((await page.textContent("[data-testid=referral][data-partner=bob]")).includes("Income from referral program from bob"), "the income is labelled");
console.log(`referrals: income from bob ${income}`);
await shot(page, "portal-referrals");

// Statistics, remuneration, payouts.
for (const [nav, name, sel] of [["Statistics", "portal-stats", "[data-testid=stats], main .muted"],
  ["Remuneration", "portal-remuneration", "[data-testid=statements]"], ["Payouts and spends", "portal-payouts", "main h2"]]) {
  await page.click(`nav >> text=${nav}`);
  await page.waitForSelector(sel);
  if (nav === "Remuneration") {
    await page.click("[data-testid=statements] >> text=Statement");
    await page.waitForSelector("[data-testid=statement-lines]");
  }
  await shot(page, name);
}

// A lead for a client: stored, listed, and sent to the shop's webhook.
await page.click("nav >> text=Send a request for a client");
await page.fill("input[name=customer_name]", lead);
await page.fill("input[name=contact]", "+7 900 000-00-00");
await page.fill("textarea[name=note]", "Wants a bag\nand a belt");
await page.click("form >> text=Send");
await page.waitForSelector("text=/Request lead-[a-z0-9]+ sent\\./");
await page.waitForSelector(`[data-testid=leads] >> text=${lead}`);
console.log(`lead: submitted for ${lead}`);
await shot(page, "portal-lead");

// Settings: new bank details, recorded in the history of changes.
await page.click("nav >> text=Settings");
await page.waitForSelector("input[name=bank_account]");
await page.fill("input[name=bank_account]", "DE02 1203 0000 0000 2020 51");
await page.fill("input[name=name]", "Alice Smith");
await page.click("form >> text=Save");
await page.waitForSelector("[data-testid=settings-history] >> text=DE02 1203 0000 0000 2020 51");
const mine = await rpc("PartnerService/GetPartner", { program, partner, includePrivate: true });
check(mine.partner.private.bankAccount === "DE02 1203 0000 0000 2020 51", `bank account now ${mine.partner.private.bankAccount}`);
console.log("settings: bank details changed, in the history");
await shot(page, "portal-settings");

// Sign out: the session ends (the cabinet asks to sign in again).
await page.click("header >> text=Sign out");
await page.waitForSelector("text=Or open the sign-in link you were sent.");
const after = await page.evaluate(async () => (await fetch("/portal/session")).status);
check(after === 401, `GET /portal/session after sign-out: ${after}`);
console.log("sign-out: the session is gone");

// Bob signs in by link and downloads last month's statement as a PDF.
await signInByLink("bob");
const { statements } = await rpc("PeriodService/ListStatements", { program, partner: "bob" });
const st = statements.at(-1);
check(st && Number(st.released) > 0, `bob's statement released ${st?.released}`);
await page.click("nav >> text=Remuneration");
await page.waitForSelector("[data-testid=statements]");
const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=statements] >> text=Download PDF")]);
const dir = mkdtempSync(join(tmpdir(), "accrue-pdf-"));
const file = join(dir, download.suggestedFilename());
await download.saveAs(file);
const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
rmSync(dir, { recursive: true, force: true });
check(text.includes(st.released) && text.includes(st.period), `the PDF of ${st.period} does not show the released ${st.released}:\n${text}`);
console.log(`pdf: ${download.suggestedFilename()} shows released ${st.released}`);

// The same dashboard in Russian, on a phone's width.
await page.goto(base + "/portal/");
await page.selectOption("header select", "ru");
await page.setViewportSize({ width: 390, height: 844 });
await page.waitForSelector("text=Начислено");
await shot(page, "portal-dashboard-ru-phone");
await close();
console.log("partner scenario passed");
