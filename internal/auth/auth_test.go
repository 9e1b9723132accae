package auth

import (
	"strings"
	"testing"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

const keyFile = `
# token                     role     program  partner
admin-token-0123456789      admin    *
auditor-token-0123456789    auditor  shop
bob-token-0123456789abcd    partner  shop     bob
`

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys(strings.NewReader(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 {
		t.Fatalf("%d keys, want 3", k.Len())
	}
	p, ok := k.lookup("bob-token-0123456789abcd")
	if !ok || p != (Principal{Role: RolePartner, Program: "shop", Partner: "bob"}) {
		t.Fatalf("bob's key: %+v %v", p, ok)
	}
	if _, ok := k.lookup("bob-token-0123456789abcX"); ok {
		t.Fatal("a token one character off was accepted")
	}
	for _, bad := range []string{
		"short admin *",
		"admin-token-0123456789 admin",
		"admin-token-0123456789 root *",
		"admin-token-0123456789 admin * bob",
		"bob-token-0123456789abcd partner shop",
		"bob-token-0123456789abcd partner * bob",
		"admin-token-0123456789 admin *\nadmin-token-0123456789 auditor *",
		"# every key revoked\n",
		"",
	} {
		if _, err := ParseKeys(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseKeys(%q) accepted it", bad)
		}
	}
}

func TestAllow(t *testing.T) {
	admin := Principal{Role: RoleAdmin, Program: "*"}
	auditor := Principal{Role: RoleAuditor, Program: "shop"}
	bob := Principal{Role: RolePartner, Program: "shop", Partner: "bob"}
	cases := []struct {
		name      string
		p         Principal
		procedure string
		msg       any
		allowed   bool
	}{
		{"admin writes", admin, "/accrue.v1.OrderService/PayOrder", &accruev1.PayOrderRequest{Program: "any"}, true},
		{"auditor reads the journal", auditor, "/accrue.v1.LedgerService/GetTrialBalance", &accruev1.GetTrialBalanceRequest{Program: "shop"}, true},
		{"auditor verifies", auditor, "/accrue.v1.LedgerService/VerifyJournal", &accruev1.VerifyJournalRequest{Program: "shop"}, true},
		{"auditor cannot write", auditor, "/accrue.v1.LedgerService/PostTransaction", &accruev1.PostTransactionRequest{Program: "shop"}, false},
		{"auditor cannot see private details", auditor, "/accrue.v1.PartnerService/GetPartner", &accruev1.GetPartnerRequest{Program: "shop", Partner: "bob", IncludePrivate: true}, false},
		{"auditor key is for one program", auditor, "/accrue.v1.LedgerService/GetTrialBalance", &accruev1.GetTrialBalanceRequest{Program: "other"}, false},
		{"partner reads itself with private details", bob, "/accrue.v1.PartnerService/GetPartner", &accruev1.GetPartnerRequest{Program: "shop", Partner: "bob", IncludePrivate: true}, true},
		{"partner cannot read another partner", bob, "/accrue.v1.PartnerService/GetPartner", &accruev1.GetPartnerRequest{Program: "shop", Partner: "alice"}, false},
		{"partner reads its statements", bob, "/accrue.v1.PeriodService/ListStatements", &accruev1.ListStatementsRequest{Program: "shop", Partner: "bob"}, true},
		{"partner cannot list every statement", bob, "/accrue.v1.PeriodService/ListStatements", &accruev1.ListStatementsRequest{Program: "shop"}, false},
		{"partner reads its payouts", bob, "/accrue.v1.PayoutService/ListPayouts", &accruev1.ListPayoutsRequest{Program: "shop", Partner: "bob", IncludePrivate: true}, true},
		{"partner reads its balances", bob, "/accrue.v1.LedgerService/GetBalances", &accruev1.GetBalancesRequest{Program: "shop", Accounts: []string{"partner:bob:payable", "partner:bob:accrued"}}, true},
		{"partner cannot read all balances", bob, "/accrue.v1.LedgerService/GetBalances", &accruev1.GetBalancesRequest{Program: "shop"}, false},
		{"partner cannot read a platform account", bob, "/accrue.v1.LedgerService/GetBalances", &accruev1.GetBalancesRequest{Program: "shop", Accounts: []string{"partner:bob:payable", "platform:commission_expense"}}, false},
		{"partner cannot read a look-alike account", bob, "/accrue.v1.LedgerService/ListEntries", &accruev1.ListEntriesRequest{Program: "shop", Account: "partner:bobby:payable"}, false},
		{"partner reads its entries", bob, "/accrue.v1.LedgerService/ListEntries", &accruev1.ListEntriesRequest{Program: "shop", Account: "partner:bob:payable"}, true},
		{"partner reads its program's rules", bob, "/accrue.v1.ProgramService/GetRules", &accruev1.GetRulesRequest{Program: "shop"}, true},
		{"partner reads only its program's rules", bob, "/accrue.v1.ProgramService/GetRules", &accruev1.GetRulesRequest{Program: "other"}, false},
		{"partner cannot list rule versions", bob, "/accrue.v1.ProgramService/ListRuleVersions", &accruev1.ListRuleVersionsRequest{Program: "shop"}, false},
		{"partner cannot read orders", bob, "/accrue.v1.OrderService/GetOrder", &accruev1.GetOrderRequest{Program: "shop", Order: "o1"}, false},
		{"partner cannot write", bob, "/accrue.v1.PayoutService/CreatePayout", &accruev1.CreatePayoutRequest{Program: "shop", Partner: "bob"}, false},
		{"partner key is for its program", bob, "/accrue.v1.PartnerService/GetPartner", &accruev1.GetPartnerRequest{Program: "other", Partner: "bob"}, false},
		{"health is open", bob, "/grpc.health.v1.Health/Check", nil, true},
	}
	for _, tc := range cases {
		err := Allow(tc.p, tc.procedure, tc.msg)
		if (err == nil) != tc.allowed {
			t.Errorf("%s: Allow = %v, want allowed=%v", tc.name, err, tc.allowed)
		}
	}
}
