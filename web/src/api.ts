// The Connect clients of the generated API (web/gen), authenticated as
// the session, and the few plain HTTP routes the pages use.
import { type Client, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

import { EventService } from "../gen/accrue/v1/event_pb";
import { LedgerService } from "../gen/accrue/v1/ledger_pb";
import { OrderService } from "../gen/accrue/v1/order_pb";
import { PayoutService, PeriodService } from "../gen/accrue/v1/payout_pb";
import { PortalService } from "../gen/accrue/v1/portal_pb";
import { ProductService } from "../gen/accrue/v1/product_pb";
import { PartnerService, ProgramService, TrackingService, type ValidateRulesResponse } from "../gen/accrue/v1/program_pb";
import { authHeaders, type Session } from "./auth";

export interface Api {
  session: Session;
  ledger: Client<typeof LedgerService>;
  orders: Client<typeof OrderService>;
  payouts: Client<typeof PayoutService>;
  periods: Client<typeof PeriodService>;
  partners: Client<typeof PartnerService>;
  programs: Client<typeof ProgramService>;
  tracking: Client<typeof TrackingService>;
  portal: Client<typeof PortalService>;
  products: Client<typeof ProductService>;
  events: Client<typeof EventService>;
}

/** The clients of session s. */
export function connect(s: Session): Api {
  const auth: Interceptor = (next) => (req) => {
    for (const [k, v] of Object.entries(authHeaders(s))) req.header.set(k, v);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [auth] });
  return {
    session: s,
    ledger: createClient(LedgerService, transport),
    orders: createClient(OrderService, transport),
    payouts: createClient(PayoutService, transport),
    periods: createClient(PeriodService, transport),
    partners: createClient(PartnerService, transport),
    programs: createClient(ProgramService, transport),
    tracking: createClient(TrackingService, transport),
    portal: createClient(PortalService, transport),
    products: createClient(ProductService, transport),
    events: createClient(EventService, transport),
  };
}

/** Checks a rules document without storing it (ProgramService.ValidateRules). */
export function checkRules(api: Api, document: string, signal?: AbortSignal): Promise<ValidateRulesResponse> {
  return api.programs.validateRules({ program: api.session.program || "*", document }, { signal });
}

/** The program's terms: currency and payout minimum, from its rules. */
export async function terms(api: Api, program: string) {
  const { version } = await api.programs.getRules({ program });
  const c = await api.programs.validateRules({ program, document: version?.document ?? "" });
  return c.terms ?? { currency: "", timezone: "UTC", payoutMinimum: "0" };
}

/** The message of an error, for the page. */
export function message(e: unknown): string {
  if (e instanceof ConnectError) return e.rawMessage || e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Saves text as a file download. */
export function download(name: string, text: string, type = "text/csv") {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** A fresh idempotency key for one user action. */
export function newKey(prefix: string): string {
  return `${prefix}:${crypto.randomUUID()}`;
}
