// Decimal strings added and compared exactly, in integer minor units
// (BigInt): money never goes through a float.

/** The scale of the decimal strings xs: the most decimals among them. */
function scaleOf(xs: string[]): number {
  return Math.max(0, ...xs.map((x) => (x.split(".")[1] ?? "").length));
}

function units(x: string, scale: number): bigint {
  const neg = x.startsWith("-");
  const [i, f = ""] = (neg ? x.slice(1) : x).split(".");
  const v = BigInt((i || "0") + f.padEnd(scale, "0"));
  return neg ? -v : v;
}

function show(v: bigint, scale: number): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(scale + 1, "0");
  const out = scale ? s.slice(0, -scale) + "." + s.slice(-scale) : s;
  return neg ? "-" + out : out;
}

/** The exact sum of decimal strings. */
export function sum(...xs: string[]): string {
  const ok = xs.filter((x) => x !== "");
  const scale = scaleOf(ok);
  return show(ok.reduce((a, x) => a + units(x, scale), 0n), scale);
}

/** -1, 0 or 1 as a < b, a = b, a > b. */
export function cmp(a: string, b: string): number {
  const scale = scaleOf([a, b]);
  const d = units(a, scale) - units(b, scale);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** a / b for drawing only (a bar's height, a progress bar's width). */
export function ratio(a: string, b: string): number {
  const scale = scaleOf([a, b]);
  const d = units(b, scale);
  return d === 0n ? 0 : Number((units(a, scale) * 10000n) / d) / 10000;
}
