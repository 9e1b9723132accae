// A partner opens the cabinet: the dashboard's balances are the API's, a
// referral link is built with UTM tags; every page is photographed.
import { base, browser, check, rpc, shot, signIn } from "./lib.mjs";

const program = "demo", partner = "alice";
const { page, close } = await browser();
await signIn(page, "/portal/", { role: "partner", program, partner });

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
const link = await page.textContent("[data-testid=link]");
const u = new URL(link);
check(u.searchParams.get("ref") === "ALICE" && u.searchParams.get("utm_source") === "newsletter" && u.searchParams.get("utm_campaign") === "spring",
  `referral link ${link}`);
console.log(`links: built ${link}`);
await shot(page, "portal-links");

for (const [nav, name, sel] of [["Statistics", "portal-stats", "[data-testid=stats], main .muted"], ["Your referrals", "portal-referrals", "[data-testid=referral]"],
  ["Remuneration", "portal-remuneration", "[data-testid=statements]"], ["Payouts and spends", "portal-payouts", "main h2"]]) {
  await page.click(`nav >> text=${nav}`);
  await page.waitForSelector(sel);
  if (nav === "Your referrals") check((await page.textContent("main")).includes("bob"), "alice's referrals list bob");
  if (nav === "Remuneration") {
    await page.click("[data-testid=statements] >> text=Statement");
    await page.waitForSelector("[data-testid=statement-lines]");
  }
  await shot(page, name);
}

// The same dashboard in Russian, on a phone's width.
await page.goto(base + "/portal/");
await page.selectOption("header select", "ru");
await page.setViewportSize({ width: 390, height: 844 });
await page.waitForSelector("text=Начислено");
await shot(page, "portal-dashboard-ru-phone");
await close();
console.log("partner scenario passed");
