package server

import (
	"context"
	"html"
	"net/url"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// productService is ProductService: products and promo materials.
type productService struct{ *Server }

// Limits on products and materials.
const (
	ProductNameLenMax  = 200
	MaterialURLLenMax  = 2048
	MaterialHTMLLenMax = 16384
)

// codePlaceholder is what a material's template names the partner's code.
const codePlaceholder = "{code}"

var materialKinds = map[accruev1.MaterialKind]string{
	accruev1.MaterialKind_MATERIAL_KIND_BANNER: "banner",
	accruev1.MaterialKind_MATERIAL_KIND_TEXT:   "text",
	accruev1.MaterialKind_MATERIAL_KIND_LINK:   "link",
}

// reply decodes a command's stored reply into resp and marks it replayed.
func reply[T interface {
	proto.Message
	*R
}, R any](body []byte, replayed bool, err error, setReplayed func(T, bool)) (*connect.Response[R], error) {
	if err != nil {
		return nil, err
	}
	var resp R
	if err := proto.Unmarshal(body, T(&resp)); err != nil {
		return nil, err
	}
	setReplayed(T(&resp), replayed)
	return connect.NewResponse(&resp), nil
}

// PutProduct creates or replaces a product.
func (s *productService) PutProduct(ctx context.Context, req *connect.Request[accruev1.PutProductRequest]) (*connect.Response[accruev1.PutProductResponse], error) {
	m := req.Msg
	if err := checkID("product", m.GetProduct(), IDLenMax); err != nil {
		return nil, err
	}
	if err := checkText("name", m.GetName(), true, ProductNameLenMax); err != nil {
		return nil, err
	}
	p := store.Product{ID: m.GetProduct(), Name: m.GetName(), Participates: m.GetParticipates(), ShownToPartners: m.GetShownToPartners()}
	r, err := s.svc.PutProduct(ctx, commandOf(m), p, func(p store.Product) ([]byte, error) {
		return encodeProto(&accruev1.PutProductResponse{Product: productToProto(p)})
	})
	return reply(r.Body, r.Replayed, err, func(resp *accruev1.PutProductResponse, b bool) { resp.Replayed = b })
}

func productToProto(p store.Product) *accruev1.Product {
	return &accruev1.Product{Product: p.ID, Name: p.Name, Participates: p.Participates, ShownToPartners: p.ShownToPartners}
}

// ListProducts pages through products by id.
func (s *productService) ListProducts(ctx context.Context, req *connect.Request[accruev1.ListProductsRequest]) (*connect.Response[accruev1.ListProductsResponse], error) {
	m := req.Msg
	if err := checkID("program", m.GetProgram(), IDLenMax); err != nil {
		return nil, err
	}
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	products, err := s.svc.Products(ctx, m.GetProgram(), pg.first(), false, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListProductsResponse{}
	for _, p := range products {
		resp.Products = append(resp.Products, productToProto(p))
	}
	if len(products) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, products[len(products)-1].ID)
	}
	return connect.NewResponse(resp), nil
}

// first is the page's keyset position as one string; "" on the first
// page.
func (p page) first() string {
	if p.after == nil {
		return ""
	}
	return p.after[0]
}

// materialOf validates a material.
func materialOf(m *accruev1.Material) (store.Material, error) {
	kind, ok := materialKinds[m.GetKind()]
	switch {
	case !ok:
		return store.Material{}, fault.InvalidArgument("material.kind", "MATERIAL_KIND_BANNER, _TEXT or _LINK")
	case checkID("material.product", m.GetProduct(), IDLenMax) != nil:
		return store.Material{}, checkID("material.product", m.GetProduct(), IDLenMax)
	case checkID("material.material", m.GetMaterial(), IDLenMax) != nil:
		return store.Material{}, checkID("material.material", m.GetMaterial(), IDLenMax)
	}
	if err := checkText("material.title", m.GetTitle(), true, ProductNameLenMax); err != nil {
		return store.Material{}, err
	}
	if err := checkText("material.url", m.GetUrl(), kind != "text", MaterialURLLenMax); err != nil {
		return store.Material{}, err
	}
	if err := checkText("material.html", m.GetHtml(), kind == "text", MaterialHTMLLenMax); err != nil {
		return store.Material{}, err
	}
	if m.GetUrl() != "" {
		u, err := url.Parse(strings.ReplaceAll(m.GetUrl(), codePlaceholder, "CODE"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return store.Material{}, fault.InvalidArgument("material.url", "an absolute http or https URL ({code} allowed)")
		}
	}
	return store.Material{Product: m.GetProduct(), ID: m.GetMaterial(), Title: m.GetTitle(), Kind: kind, URL: m.GetUrl(), HTML: m.GetHtml()}, nil
}

// PutMaterial creates or replaces a promo material.
func (s *productService) PutMaterial(ctx context.Context, req *connect.Request[accruev1.PutMaterialRequest]) (*connect.Response[accruev1.PutMaterialResponse], error) {
	mat, err := materialOf(req.Msg.GetMaterial())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.PutMaterial(ctx, commandOf(req.Msg), mat, func(m store.Material) ([]byte, error) {
		return encodeProto(&accruev1.PutMaterialResponse{Material: materialToProto(m, "")})
	})
	return reply(r.Body, r.Replayed, err, func(resp *accruev1.PutMaterialResponse, b bool) { resp.Replayed = b })
}

// DeleteMaterial removes a promo material.
func (s *productService) DeleteMaterial(ctx context.Context, req *connect.Request[accruev1.DeleteMaterialRequest]) (*connect.Response[accruev1.DeleteMaterialResponse], error) {
	m := req.Msg
	if err := checkID("product", m.GetProduct(), IDLenMax); err != nil {
		return nil, err
	}
	if err := checkID("material", m.GetMaterial(), IDLenMax); err != nil {
		return nil, err
	}
	r, err := s.svc.DeleteMaterial(ctx, commandOf(m), m.GetProduct(), m.GetMaterial(), func(deleted bool) ([]byte, error) {
		return encodeProto(&accruev1.DeleteMaterialResponse{Deleted: deleted})
	})
	return reply(r.Body, r.Replayed, err, func(resp *accruev1.DeleteMaterialResponse, b bool) { resp.Replayed = b })
}

// ListMaterials lists a product's materials as stored.
func (s *productService) ListMaterials(ctx context.Context, req *connect.Request[accruev1.ListMaterialsRequest]) (*connect.Response[accruev1.ListMaterialsResponse], error) {
	if err := checkID("program", req.Msg.GetProgram(), IDLenMax); err != nil {
		return nil, err
	}
	if err := checkID("product", req.Msg.GetProduct(), IDLenMax); err != nil {
		return nil, err
	}
	ms, err := s.svc.Materials(ctx, req.Msg.GetProgram(), []string{req.Msg.GetProduct()})
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListMaterialsResponse{}
	for _, m := range ms {
		resp.Materials = append(resp.Materials, materialToProto(m, ""))
	}
	return connect.NewResponse(resp), nil
}

// materialToProto renders a material; with a partner's code, its
// templates are filled in (URL-escaped in the url, HTML-escaped in the
// html), else left as stored.
func materialToProto(m store.Material, code string) *accruev1.Material {
	out := &accruev1.Material{Product: m.Product, Material: m.ID, Title: m.Title, Url: m.URL, Html: m.HTML}
	for k, v := range materialKinds {
		if v == m.Kind {
			out.Kind = k
		}
	}
	if code != "" {
		out.Url = strings.ReplaceAll(m.URL, codePlaceholder, url.QueryEscape(code))
		out.Html = strings.ReplaceAll(m.HTML, codePlaceholder, html.EscapeString(code))
	}
	return out
}

// ListPartnerMaterials pages through shown products with their materials
// filled in with the partner's code.
func (s *productService) ListPartnerMaterials(ctx context.Context, req *connect.Request[accruev1.ListPartnerMaterialsRequest]) (*connect.Response[accruev1.ListPartnerMaterialsResponse], error) {
	m := req.Msg
	if err := checkProgramPartner(m.GetProgram(), m.GetPartner()); err != nil {
		return nil, err
	}
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	products, ms, code, err := s.svc.PartnerMaterials(ctx, m.GetProgram(), m.GetPartner(), pg.first(), pg.limit)
	if err != nil {
		return nil, err
	}
	byProduct := map[string][]*accruev1.Material{}
	for _, mat := range ms {
		byProduct[mat.Product] = append(byProduct[mat.Product], materialToProto(mat, code))
	}
	resp := &accruev1.ListPartnerMaterialsResponse{}
	for _, p := range products {
		resp.Products = append(resp.Products, &accruev1.PartnerProduct{Product: productToProto(p), Materials: byProduct[p.ID]})
	}
	if len(products) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, products[len(products)-1].ID)
	}
	return connect.NewResponse(resp), nil
}
