// Package rules is accrue's functional core: it turns a program's rules
// document and the facts of an order event into a signed posting plan with
// provenance (which rule, tier or level produced every amount).
//
// It owns the rules document (parsing, validation, defaults, limits), rate
// resolution (SPEC §4), money rounding (SPEC §1) and the order state machine
// of SPEC §6: accrue, refund, amend and cancel, each returning the next
// [OrderState] and a [Plan].
//
// It must stay pure: no I/O, no clock (it never calls time.Now), no database,
// no logging. It does not know accounts or transactions: internal/affiliate
// turns a Plan into the legs of a balanced posting and decides who earns,
// hold and maturity; internal/service reads the facts it is given (the
// rules version in force, the partner's tier volume, the upline chain,
// attribution) and keeps the idempotency records.
//
// Choices where SPEC is silent:
//
//   - A flat default ({flat: "5.00"}) is paid once per order, at accrual,
//     when the order has at least one participating line with an amount
//     above zero whose rate falls to the flat default. It stays while any
//     participating line keeps an amount, and is reversed in full when
//     every participating line is down to zero (or on cancel). An amendment
//     that brings back or adds such a line to an order without a flat pays
//     it again.
//   - participates: false is only allowed on a rule that matches a product
//     alone; it excludes the product for every partner and beats every
//     other rule. Excluded lines earn nothing, are not part of the
//     commission base and do not feed the upline, but they count as sales.
//   - An amount is valid when its value has no more decimals than the
//     currency ("45.000" is accepted for USD, "45.001" is not), is not
//     negative and is below money.AmountLimit (10^13, the one bound of
//     every amount); lines of one product must add up below it too.
//   - A refund with no lines and no shipping is refused; a refund line of
//     a product the order does not have is refused.
//   - Upline levels whose member is not eligible (suspended) earn zero and
//     appear in the accrual plan with a note, for provenance. Plan entries
//     with a zero amount are provenance only: post nothing for them.
//   - A line amended away, or refunded in full, stays in the OrderState with
//     a zero amount and its pinned rate, so a later amendment that brings
//     the product back earns at the pinned rate again. An error about a
//     product repeated in one request names its first index.
//   - TierFor puts a volume below zero (after clawbacks) in the first tier.
//     RateMax counts every percentage, upline rates included.
//   - timezone "Local" and schedules with a CRON_TZ=/TZ= prefix are refused:
//     a program must read the same on every machine, in its own time zone.
//   - Unknown fields are refused with their precise path; YAML merge keys
//     ("<<") are therefore not supported. A document holds one YAML
//     document only.
package rules
