package service

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Limits on a program's product list.
const (
	ProductsMax            = 10000
	MaterialsPerProductMax = 100
)

// PutProduct creates or replaces a product of an existing program; a new
// product beyond ProductsMax fails FailedPrecondition.
func (s *Service) PutProduct(ctx context.Context, c Command, p store.Product, encode Encode[store.Product]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.Product, error) {
		if _, err := ledger.LoadProgram(ctx, tx, c.Program); err != nil {
			return store.Product{}, err
		}
		n, has, err := store.CountProducts(ctx, tx, c.Program, p.ID)
		if err == nil && !has && n >= ProductsMax {
			err = fault.FailedPrecondition("product", "program %s has %d products, the most it may have", c.Program, ProductsMax)
		}
		if err == nil {
			err = store.PutProduct(ctx, tx, c.Program, p, s.clock.Now())
		}
		return p, err
	})
}

// Products returns a page of products by id.
func (s *Service) Products(ctx context.Context, program, after string, shownOnly bool, limit int) ([]store.Product, error) {
	return store.ListProducts(ctx, s.db.Pool, program, after, shownOnly, limit)
}

// PutMaterial creates or replaces a material of an existing product; a
// new one beyond MaterialsPerProductMax fails FailedPrecondition.
func (s *Service) PutMaterial(ctx context.Context, c Command, m store.Material, encode Encode[store.Material]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (store.Material, error) {
		if _, has, err := store.CountProducts(ctx, tx, c.Program, m.Product); err != nil || !has {
			return m, orElse(err, fault.NotFound("material.product", "program %s has no product %q", c.Program, m.Product))
		}
		ms, err := store.ListMaterials(ctx, tx, c.Program, []string{m.Product})
		if err != nil {
			return m, err
		}
		if len(ms) >= MaterialsPerProductMax && !hasMaterial(ms, m.ID) {
			return m, fault.FailedPrecondition("material.material", "product %s has %d materials, the most it may have", m.Product, MaterialsPerProductMax)
		}
		return m, store.PutMaterial(ctx, tx, c.Program, m, s.clock.Now())
	})
}

func hasMaterial(ms []store.Material, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// DeleteMaterial removes a material; whether there was one is encoded.
func (s *Service) DeleteMaterial(ctx context.Context, c Command, product, id string, encode Encode[bool]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (bool, error) {
		return store.DeleteMaterial(ctx, tx, c.Program, product, id)
	})
}

// Materials returns the materials of products, by product and id.
func (s *Service) Materials(ctx context.Context, program string, products []string) ([]store.Material, error) {
	return store.ListMaterials(ctx, s.db.Pool, program, products)
}

// PartnerMaterials returns a page of the products shown to partners with
// their materials, and the partner's referral code for the templates;
// fault NotFound for an unknown partner. Three queries whatever the page.
func (s *Service) PartnerMaterials(ctx context.Context, program, partner, after string, limit int) ([]store.Product, []store.Material, string, error) {
	p, err := LoadPartner(ctx, s.db.Pool, program, partner, "partner", store.NoLock)
	if err != nil {
		return nil, nil, "", err
	}
	products, err := store.ListProducts(ctx, s.db.Pool, program, after, true, limit)
	if err != nil {
		return nil, nil, "", err
	}
	ids := make([]string, len(products))
	for i, pr := range products {
		ids[i] = pr.ID
	}
	ms, err := store.ListMaterials(ctx, s.db.Pool, program, ids)
	return products, ms, p.Code, err
}
