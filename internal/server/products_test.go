package server

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestProductsAndMaterials: an admin lists products with their flags and
// materials; ivan's session reads only shown products, their templates
// filled with his code; it cannot write, nor read anna's.
func TestProductsAndMaterials(t *testing.T) {
	f := newPortalFixture(t)
	admin := accruev1connect.NewProductServiceClient(f.hs.Client(), f.hs.URL, bearer(adminKey))
	for _, p := range []*accruev1.PutProductRequest{
		{Program: "shop", IdempotencyKey: "p-bag", Product: "bag", Name: "Сумка", Participates: true, ShownToPartners: true},
		{Program: "shop", IdempotencyKey: "p-gift", Product: "gift-card", Name: "Gift card", Participates: false, ShownToPartners: false},
	} {
		_, err := admin.PutProduct(f.ctx, connect.NewRequest(p))
		f.must(err)
	}
	for _, m := range []*accruev1.Material{
		{Product: "bag", Material: "banner-1", Title: "Banner 468x60", Kind: accruev1.MaterialKind_MATERIAL_KIND_BANNER,
			Url: "https://shop.example/b/468.png", Html: `<a href="https://shop.example/?ref={code}"><img src="https://shop.example/b/468.png"></a>`},
		{Product: "bag", Material: "link", Title: "Landing", Kind: accruev1.MaterialKind_MATERIAL_KIND_LINK, Url: "https://shop.example/bags?ref={code}"},
		{Product: "gift-card", Material: "text", Title: "Hidden", Kind: accruev1.MaterialKind_MATERIAL_KIND_TEXT, Html: "code {code}"},
	} {
		_, err := admin.PutMaterial(f.ctx, connect.NewRequest(&accruev1.PutMaterialRequest{Program: "shop", IdempotencyKey: "m-" + m.GetMaterial(), Material: m}))
		f.must(err)
	}
	list, err := admin.ListProducts(f.ctx, connect.NewRequest(&accruev1.ListProductsRequest{Program: "shop"}))
	f.must(err)
	if ps := list.Msg.GetProducts(); len(ps) != 2 || ps[0].GetProduct() != "bag" || !ps[0].GetParticipates() || ps[1].GetShownToPartners() {
		t.Fatalf("products: %v", ps)
	}
	ivan := f.signIn("ivan")
	partner := accruev1connect.NewProductServiceClient(ivan, f.hs.URL)
	got, err := partner.ListPartnerMaterials(f.ctx, connect.NewRequest(&accruev1.ListPartnerMaterialsRequest{Program: "shop", Partner: "ivan"}))
	f.must(err)
	ps := got.Msg.GetProducts()
	if len(ps) != 1 || ps[0].GetProduct().GetProduct() != "bag" || len(ps[0].GetMaterials()) != 2 {
		t.Fatalf("ivan's materials: %v", ps)
	}
	banner, link := ps[0].GetMaterials()[0], ps[0].GetMaterials()[1]
	if !strings.Contains(banner.GetHtml(), "?ref=IVAN") || link.GetUrl() != "https://shop.example/bags?ref=IVAN" {
		t.Fatalf("templates not filled: %v %v", banner, link)
	}
	if _, err := partner.ListPartnerMaterials(f.ctx, connect.NewRequest(&accruev1.ListPartnerMaterialsRequest{Program: "shop", Partner: "anna"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("ivan's session read anna's materials: %v", err)
	}
	if _, err := accruev1connect.NewProductServiceClient(ivan, f.hs.URL, f.csrf(ivan)).PutProduct(f.ctx, connect.NewRequest(&accruev1.PutProductRequest{
		Program: "shop", IdempotencyKey: "p-x", Product: "x", Name: "x"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a partner session wrote a product: %v", err)
	}
	del, err := admin.DeleteMaterial(f.ctx, connect.NewRequest(&accruev1.DeleteMaterialRequest{Program: "shop", IdempotencyKey: "d-1", Product: "bag", Material: "link"}))
	if err != nil || !del.Msg.GetDeleted() {
		t.Fatalf("delete: %v %v", del, err)
	}
	ms, err := admin.ListMaterials(f.ctx, connect.NewRequest(&accruev1.ListMaterialsRequest{Program: "shop", Product: "bag"}))
	if err != nil || len(ms.Msg.GetMaterials()) != 1 || !strings.Contains(ms.Msg.GetMaterials()[0].GetHtml(), "{code}") {
		t.Fatalf("materials as stored: %v %v", ms, err)
	}
}

// TestMaterialValidates names the offending field; nothing is written.
func TestMaterialValidates(t *testing.T) {
	f := newPortalFixture(t)
	admin := accruev1connect.NewProductServiceClient(f.hs.Client(), f.hs.URL, bearer(adminKey))
	_, err := admin.PutProduct(f.ctx, connect.NewRequest(&accruev1.PutProductRequest{Program: "shop", IdempotencyKey: "p", Product: "bag", Name: "Bag"}))
	f.must(err)
	if _, err := admin.PutProduct(f.ctx, connect.NewRequest(&accruev1.PutProductRequest{Program: "shop", IdempotencyKey: "p2", Product: "bag", Name: strings.Repeat("x", ProductNameLenMax+1)})); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "name") {
		t.Errorf("a long name: %v", err)
	}
	ok := func() *accruev1.Material {
		return &accruev1.Material{Product: "bag", Material: "m", Title: "t", Kind: accruev1.MaterialKind_MATERIAL_KIND_LINK, Url: "https://x.example/?r={code}"}
	}
	for field, edit := range map[string]func(*accruev1.Material){
		"material.kind":     func(m *accruev1.Material) { m.Kind = 0 },
		"material.url":      func(m *accruev1.Material) { m.Url = "javascript:alert(1)" },
		"material.title":    func(m *accruev1.Material) { m.Title = "" },
		"material.material": func(m *accruev1.Material) { m.Material = "a/b" },
		"material.html": func(m *accruev1.Material) {
			m.Kind, m.Html = accruev1.MaterialKind_MATERIAL_KIND_TEXT, strings.Repeat("x", MaterialHTMLLenMax+1)
		},
		"material.product": func(m *accruev1.Material) { m.Product = "nope" },
	} {
		m := ok()
		edit(m)
		if _, err := admin.PutMaterial(f.ctx, connect.NewRequest(&accruev1.PutMaterialRequest{Program: "shop", IdempotencyKey: "k-" + field, Material: m})); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	ms, err := admin.ListMaterials(f.ctx, connect.NewRequest(&accruev1.ListMaterialsRequest{Program: "shop", Product: "bag"}))
	if err != nil || len(ms.Msg.GetMaterials()) != 0 {
		t.Fatalf("refused materials were stored: %v %v", ms, err)
	}
}
