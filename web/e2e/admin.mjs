// An admin: sees a rules error at its line, simulates an order, issues a
// partner's sign-in link, manages products and materials, reads a
// webhook's delivery log (the lead the partner sent), closes a period
// while the progress bar moves (the Go test registered thousands of
// partners), and pays everyone payable. The period to close is argv[4]
// (ended by the server's clock, still open).
import { browser, check, rpc, shot, signIn } from "./lib.mjs";

const program = "demo";
const period = process.argv[4];
const { page, close } = await browser();
await signIn(page, "/admin/", { role: "admin", program });

// Rules: a bad commission rate is reported at its path and line.
await page.waitForSelector("textarea[name=rules]");
const doc = await page.inputValue("textarea[name=rules]");
const lines = doc.split("\n");
const at = lines.findIndex((l) => l.trim().startsWith("default:")) + 1;
check(at > 0, "the demo rules have commission.default");
lines[at - 1] = lines[at - 1].replace(/default: .*/, "default: ten percent");
await page.fill("textarea[name=rules]", lines.join("\n"));
const fault = page.locator("[data-testid=fault]").first();
await fault.waitFor();
const line = Number(await fault.getAttribute("data-line"));
const text = await fault.textContent();
check(line === at && text.includes("commission.default"), `fault "${text}" at line ${line}, want commission.default at line ${at}`);
console.log(`rules: "${text}" at line ${line}`);
await shot(page, "admin-rules-error");
await page.fill("textarea[name=rules]", doc);
await page.waitForSelector("text=The document is valid.");

// Simulate: 10% of a bag, 15% of a belt (the rule for belts).
await page.fill("input[name=sim_partner]", "bob");
await page.fill("input[name=sim_product_0]", "belt");
await page.fill("input[name=sim_amount_0]", "200.00");
await page.click("text=Simulate >> nth=-1");
await page.waitForSelector("[data-testid=plan-lines]");
const commission = await page.textContent("[data-testid=plan-commission]");
check(commission === "30.00", `simulated commission ${commission}, want 30.00`);
check((await page.textContent("[data-testid=plan-lines]")).includes("15"), "the plan shows the belt's 15% rate");
console.log(`simulate: belt 200.00 earns ${commission}`);
await page.locator("[data-testid=plan]").scrollIntoViewIfNeeded();
await shot(page, "admin-rules-simulate");

// Partners.
await page.click("nav >> text=Partners");
await page.waitForSelector("[data-testid=partners]");
await page.fill("input[name=search]", "ali");
check((await page.locator("[data-testid=partners] tbody tr").count()) === 1, "search finds alice alone");
await page.click("[data-testid=partners] >> text=Sign-in link");
const signin = await page.textContent("[data-testid=signin-url]");
check(new URL(signin).pathname === "/portal/signin" && new URL(signin).searchParams.get("token").length > 40, `sign-in link ${signin}`);
console.log(`partners: issued ${signin.slice(0, 60)}…`);
await shot(page, "admin-partners");
await page.fill("input[name=search]", "");

// Products and materials: a text material for the bag, {code} in it.
await page.click("nav >> text=Products and materials");
await page.waitForSelector("[data-testid=products] >> text=bag");
await page.click("[data-testid=products] >> text=Materials");
await page.waitForSelector("[data-testid=materials], section[aria-label^=Materials] .muted");
await page.fill("input[name=material_id]", "mail-text");
await page.fill("input[name=material_title]", "Text for a newsletter");
await page.selectOption("select[name=material_kind]", { label: "Text" });
await page.fill("textarea[name=material_html]", "Our bags: https://shop.example/bags?ref={code}");
await page.click("text=Save the material");
await page.waitForSelector("[data-testid=materials] >> text=mail-text");
const mats = await rpc("ProductService/ListPartnerMaterials", { program, partner: "bob" });
check(mats.products[0].materials.some((m) => m.html.includes("ref=BOB")), "bob's copy of the new material carries his code");
console.log("products: a material added; partners get it with their code");
await shot(page, "admin-products");

// Webhooks: the shop's endpoint received the partner's lead.
await page.click("nav >> text=Webhooks");
await page.waitForSelector("[data-testid=webhooks]");
await page.click("[data-testid=webhooks] >> text=Deliveries");
await page.waitForSelector("[data-testid=deliveries] >> text=lead.submitted");
const status = await page.textContent("[data-testid=deliveries] [data-testid=delivery-status]");
check(status === "succeeded", `the lead's delivery is ${status}`);
console.log("webhooks: lead.submitted delivered");
await shot(page, "admin-webhooks");

// Close: the progress bar's values are sampled while ClosePeriod runs.
await page.click("nav >> text=Closes");
await page.fill("input[name=period]", period);
const seen = [];
const sample = setInterval(async () => {
  const v = await page.getAttribute("[role=progressbar]", "aria-valuenow", { timeout: 50 }).catch(() => null);
  if (v !== null && seen.at(-1) !== v) seen.push(v);
}, 20);
await page.click("form >> text=Close >> nth=-1");
await page.waitForSelector(`text=Closed ${period}`, { timeout: 120000 });
await new Promise((r) => setTimeout(r, 100));
clearInterval(sample);
const final = await page.getAttribute("[role=progressbar]", "aria-valuenow");
check(final === "100", `the progress bar ends at ${final}`);
check(seen.some((v) => Number(v) > 0 && Number(v) < 100), `the progress bar did not move: ${seen.join(" → ")}`);
console.log(`close: ${period} closed; progress bar values seen: ${seen.join(" → ")}`);
await shot(page, "admin-closes");

// Payouts: everyone payable at or above the minimum, paid all at once.
await page.click("nav >> text=Payouts");
await page.waitForSelector("[data-testid=payable]");
const due = await page.locator("[data-testid=payable] tbody tr").count();
await shot(page, "admin-payouts");
await page.click("text=Pay all");
await page.waitForSelector(`text=Paid ${due} partners.`);
await page.waitForSelector("text=Nobody is payable.");
const pending = await rpc("PayoutService/ListPayouts", { program });
const open = pending.payouts.filter((p) => p.status === "PAYOUT_STATUS_PENDING");
check(open.length === due, `${open.length} pending payouts, want ${due}`);
const tb = await rpc("LedgerService/GetTrialBalance", { program });
const left = tb.balances.filter((b) => b.account.endsWith(":payable") && b.account.startsWith("partner:") && BigInt(b.balance.replace(".", "")) >= 10000n); // 100.00, the demo minimum
check(left.length === 0, `still payable: ${left.map((b) => b.account).join(", ")}`);
console.log(`payouts: paid ${due} partners; none left payable at the minimum`);
await page.waitForSelector("[data-testid=pending]");
await shot(page, "admin-payouts-pending");

// Audit. The server's scheduler seals the journal as it runs; the test
// server has none, so the test seals it as the scheduler would.
await rpc("LedgerService/GetJournalHead", { program });
await page.click("nav >> text=Audit");
await page.click("text=Verify the journal");
await page.waitForSelector("[data-testid=verify]");
check((await page.textContent("[data-testid=verify]")).includes("The journal verifies."), "verify: " + await page.textContent("[data-testid=verify]"));
await shot(page, "admin-audit");
await close();
console.log("admin scenario passed");
