package service

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/rules"
)

// parseLines reads and merges an order's lines and shipping in prog's
// currency. Lines may be empty only when required is false (a
// shipping-only refund).
func parseLines(prog *rules.Program, in []OrderLine, shippingText string, required bool) ([]rules.Line, decimal.Decimal, error) {
	lines := make([]rules.Line, len(in))
	for i, l := range in {
		amount, err := money.ParseNonNegative(fmt.Sprintf("lines[%d].amount", i), l.Amount, prog.Scale())
		if err != nil {
			return nil, decimal.Zero, err
		}
		lines[i] = rules.Line{Product: l.Product, Amount: amount}
	}
	shipping := decimal.Zero
	if shippingText != "" {
		var err error
		if shipping, err = money.ParseNonNegative("shipping", shippingText, prog.Scale()); err != nil {
			return nil, decimal.Zero, err
		}
		// The rules bound shipping as they bound lines (MergeLines checks
		// those); Accrue asserts it.
		if err := prog.CheckAmount("shipping", shipping); err != nil {
			return nil, decimal.Zero, rulesFault(err)
		}
	}
	if len(lines) == 0 && !required {
		return nil, shipping, nil
	}
	merged, err := prog.MergeLines(lines)
	if err != nil {
		return nil, decimal.Zero, rulesFault(err)
	}
	return merged, shipping, nil
}

// rulesFault turns a rules validation error (a *rules.FieldError, or
// several joined) into InvalidArgument naming the first field at fault;
// nil stays nil.
func rulesFault(err error) error {
	if err == nil {
		return nil
	}
	var fe *rules.FieldError
	if errors.As(err, &fe) {
		return fault.InvalidArgument(fe.Path, "%s", fe.Reason)
	}
	return fault.InvalidArgument("", "%v", err)
}

// documentFault is rulesFault for an error in a rules document: the path
// is inside the request's document field ("document.commission.default";
// "document" alone for a YAML syntax error, whose message gives the line).
func documentFault(err error) error {
	var fe *rules.FieldError
	if errors.As(err, &fe) {
		field := "document"
		if fe.Path != "" {
			field += "." + fe.Path
		}
		return fault.InvalidArgument(field, "%s", fe.Reason)
	}
	return fault.InvalidArgument("document", "%v", err)
}
