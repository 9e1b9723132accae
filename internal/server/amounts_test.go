package server

import (
	"testing"
)

func TestSelfReferral(t *testing.T) {
	tests := []struct {
		name              string
		partnerCustomer   string
		customer          string
		allowed, wantSelf bool
	}{
		{name: "own purchase", partnerCustomer: "k1", customer: "k1", wantSelf: true},
		{name: "own purchase, allowed by the rules", partnerCustomer: "k1", customer: "k1", allowed: true},
		{name: "another customer", partnerCustomer: "k1", customer: "k2"},
		{name: "partner tied to no customer", partnerCustomer: "", customer: "k1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := selfReferral(partner{ID: "rob", Customer: tc.partnerCustomer}, tc.customer, tc.allowed); got != tc.wantSelf {
				t.Fatalf("selfReferral = %v, want %v", got, tc.wantSelf)
			}
		})
	}
}
