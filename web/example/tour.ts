// The TypeScript client's example, what a web app writes to call accrued:
// set a program's rules, register a partner, pay an order the partner
// referred, close the month and read the partner's statement. make lint
// typechecks it (tsc -p tsconfig.gen.json), and a Go test
// (proto/accrue/v1/typescript_test.go) runs it against a real accrued.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

import { OrderService } from "../gen/accrue/v1/order_pb";
import { PeriodService } from "../gen/accrue/v1/payout_pb";
import { OrderLineSchema, PartnerService, ProgramService } from "../gen/accrue/v1/program_pb";

/** The example program: 10% commission, paid out from 100.00. */
const rules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
commission: {default: 10%}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`;

/** Noon UTC on a day of January 2026. */
function jan(day: number) {
  return timestampFromDate(new Date(Date.UTC(2026, 0, day, 12)));
}

/** Runs the example on program at baseUrl and describes what it saw. */
export async function tour(baseUrl: string, program: string): Promise<string[]> {
  const transport = createConnectTransport({ baseUrl });
  const programs = createClient(ProgramService, transport);
  const partners = createClient(PartnerService, transport);
  const orders = createClient(OrderService, transport);
  const periods = createClient(PeriodService, transport);

  // Every write carries an idempotency key: sending it again is safe.
  await programs.putRules({ program, idempotencyKey: "rules-1", at: jan(1), document: rules });
  const { partner } = await partners.registerPartner({
    program, idempotencyKey: "partner-alice", at: jan(2), partner: "alice", code: "ALICE",
  });
  const { order } = await orders.payOrder({
    program, idempotencyKey: "order-1001", at: jan(10), order: "o-1001", customer: "c-1",
    partnerCode: "ALICE", lines: [create(OrderLineSchema, { product: "bag", amount: "1250.00" })],
  });
  const closed = await periods.closePeriod({ program, idempotencyKey: "close-2026-01", period: "2026-01" });
  const { statement } = await periods.getStatement({ program, partner: "alice", period: "2026-01" });
  return [
    `registered ${partner?.id} with code ${partner?.code}`,
    `order ${order?.id} attributed to ${order?.partner}`,
    `closed ${closed.period} released ${closed.released}`,
    `statement ${statement?.partner} ${statement?.period}: ${statement?.status}, ` +
      `payable ${statement?.closing?.payable}, due ${statement?.dueDate}`,
  ];
}
