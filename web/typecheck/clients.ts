// This file compiles (tsc -p tsconfig.gen.json, in make lint) only while the
// generated descriptors in web/gen fit @connectrpc/connect v2's clients and
// the browser transport: it is what a web app writes to call accrued.
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

import { OrderService } from "../gen/accrue/v1/order_pb";
import { PeriodService } from "../gen/accrue/v1/payout_pb";
import { OrderLineSchema, PartnerService } from "../gen/accrue/v1/program_pb";

/** A partner's code, the order it referred, and its statement's payable. */
export async function tour(baseUrl: string): Promise<string> {
  const transport = createConnectTransport({ baseUrl });
  const partners = createClient(PartnerService, transport);
  const orders = createClient(OrderService, transport);
  const periods = createClient(PeriodService, transport);

  const { partner } = await partners.registerPartner({
    program: "shop", idempotencyKey: "partner-alice", partner: "alice", code: "ALICE",
  });
  const { order } = await orders.payOrder({
    program: "shop", idempotencyKey: "order-1001", order: "o-1001", customer: "c-1",
    partnerCode: "ALICE", lines: [create(OrderLineSchema, { product: "bag", amount: "1250.00" })],
  });
  const { statement } = await periods.getStatement({ program: "shop", partner: "alice", period: "2026-01" });
  return `${partner?.code} ${order?.id} ${statement?.closing?.payable ?? ""}`;
}
