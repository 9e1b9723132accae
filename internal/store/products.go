package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Product is one product of a program's list.
type Product struct {
	ID, Name                      string
	Participates, ShownToPartners bool
}

// Material is one promo material of a product; URL and HTML are templates.
type Material struct {
	Product, ID, Title, Kind, URL, HTML string
}

// PutProduct creates or replaces a product.
func PutProduct(ctx context.Context, q ledger.Querier, program string, p Product, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO products (program_id, id, name, participates, shown_to_partners, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (program_id, id) DO UPDATE SET name = excluded.name, participates = excluded.participates,
		    shown_to_partners = excluded.shown_to_partners, updated_at = excluded.updated_at`,
		program, p.ID, p.Name, p.Participates, p.ShownToPartners, now)
	if err != nil {
		return fmt.Errorf("store: putting product %s: %w", p.ID, err)
	}
	return nil
}

// CountProducts returns how many products a program has, and whether id
// is one of them.
func CountProducts(ctx context.Context, q ledger.Querier, program, id string) (int, bool, error) {
	var (
		n   int
		has bool
	)
	err := q.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(id = $2), false) FROM products WHERE program_id = $1`, program, id).Scan(&n, &has)
	if err != nil {
		return 0, false, fmt.Errorf("store: counting products: %w", err)
	}
	return n, has, nil
}

// ListProducts returns up to limit products by id after `after`, only the
// shown ones when shownOnly.
func ListProducts(ctx context.Context, q ledger.Querier, program, after string, shownOnly bool, limit int) ([]Product, error) {
	rows, err := q.Query(ctx, `SELECT id, name, participates, shown_to_partners FROM products
		WHERE program_id = $1 AND id > $2 AND (NOT $3 OR shown_to_partners) ORDER BY id LIMIT $4`, program, after, shownOnly, limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing products: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Product, error) {
		var p Product
		return p, r.Scan(&p.ID, &p.Name, &p.Participates, &p.ShownToPartners)
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing products: %w", err)
	}
	return out, nil
}

// PutMaterial creates or replaces a material.
func PutMaterial(ctx context.Context, q ledger.Querier, program string, m Material, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO materials (program_id, product_id, id, title, kind, url, html, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (program_id, product_id, id) DO UPDATE SET title = excluded.title, kind = excluded.kind,
		    url = excluded.url, html = excluded.html, updated_at = excluded.updated_at`,
		program, m.Product, m.ID, m.Title, m.Kind, m.URL, m.HTML, now)
	if err != nil {
		return fmt.Errorf("store: putting material %s/%s: %w", m.Product, m.ID, err)
	}
	return nil
}

// DeleteMaterial removes a material; false when there was none.
func DeleteMaterial(ctx context.Context, q ledger.Querier, program, product, id string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM materials WHERE program_id = $1 AND product_id = $2 AND id = $3`, program, product, id)
	if err != nil {
		return false, fmt.Errorf("store: deleting material %s/%s: %w", product, id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListMaterials returns the materials of products (one query whatever
// their number), by product and id.
func ListMaterials(ctx context.Context, q ledger.Querier, program string, products []string) ([]Material, error) {
	rows, err := q.Query(ctx, `SELECT product_id, id, title, kind, url, html FROM materials
		WHERE program_id = $1 AND product_id = ANY($2) ORDER BY product_id, id`, program, products)
	if err != nil {
		return nil, fmt.Errorf("store: listing materials: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Material, error) {
		var m Material
		return m, r.Scan(&m.Product, &m.ID, &m.Title, &m.Kind, &m.URL, &m.HTML)
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing materials: %w", err)
	}
	return out, nil
}
