package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func init() { register(productCommands) }

// productCommands is `accrue product ...` and `accrue material ...`:
// ProductService's products and their promo materials.
func productCommands(c *cli) []*cobra.Command {
	product := newGroup("product", "the program's products: whether they participate and are shown to partners", "products")
	product.AddCommand(c.productPut(), c.productList())
	material := newGroup("material", "promo materials per product (banners, texts, links; {code} becomes the partner's code)", "materials")
	material.AddCommand(c.materialPut(), c.materialDelete(), c.materialList(), c.materialPartner())
	return []*cobra.Command{product, material}
}

func productTable(w *tabwriter.Writer, ps ...*accruev1.Product) {
	fmt.Fprintln(w, "PRODUCT\tNAME\tPARTICIPATES\tSHOWN")
	for _, p := range ps {
		fmt.Fprintf(w, "%s\t%s\t%v\t%v\n", p.GetProduct(), p.GetName(), p.GetParticipates(), p.GetShownToPartners())
	}
}

func (c *cli) productPut() *cobra.Command {
	req := new(accruev1.PutProductRequest)
	cmd := &cobra.Command{Use: "put PRODUCT --name N", Short: "create or replace a product", Args: cobra.ExactArgs(1)}
	cmd.Flags().StringVar(&req.Name, "name", "", "the product's name (required)")
	cmd.Flags().BoolVar(&req.Participates, "participates", false, "it takes part in the program (what the cabinet shows)")
	cmd.Flags().BoolVar(&req.ShownToPartners, "shown", false, "shown in partners' cabinets with its materials")
	_ = cmd.MarkFlagRequired("name")
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req.Program, req.Product, req.IdempotencyKey = c.program, args[0], c.idempotencyKey(*key, randomKey("product"))
		r, err := c.products.PutProduct(cmd.Context(), connect.NewRequest(req))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { productTable(w, r.Msg.GetProduct()) })
	}
	return cmd
}

func (c *cli) productList() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "list the program's products", Args: cobra.NoArgs}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.Product, string, error) {
			r, err := c.products.ListProducts(cmd.Context(), connect.NewRequest(&accruev1.ListProductsRequest{
				Program: c.program, PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetProducts(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListProductsResponse{Products: rows, NextPageToken: next}, func(w *tabwriter.Writer) { productTable(w, rows...) })
		c.more(next)
		return err
	}
	return cmd
}

func materialTable(w *tabwriter.Writer, ms ...*accruev1.Material) {
	fmt.Fprintln(w, "PRODUCT\tMATERIAL\tKIND\tTITLE\tURL")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.GetProduct(), m.GetMaterial(), enumName(m.GetKind(), "MATERIAL_KIND_"), m.GetTitle(), m.GetUrl())
	}
}

func (c *cli) materialPut() *cobra.Command {
	m := new(accruev1.Material)
	cmd := &cobra.Command{Use: "put PRODUCT MATERIAL --kind banner|text|link", Short: "create or replace a product's material", Args: cobra.ExactArgs(2)}
	kind := cmd.Flags().String("kind", "", "banner, text or link (required)")
	cmd.Flags().StringVar(&m.Title, "title", "", "the material's title")
	cmd.Flags().StringVar(&m.Url, "url", "", "its URL (absolute http or https; {code} is the partner's code)")
	cmd.Flags().StringVar(&m.Html, "html", "", "a ready HTML snippet ({code} is the partner's code)")
	_ = cmd.MarkFlagRequired("kind")
	key := keyFlag(cmd, "random")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		k, ok := accruev1.MaterialKind_value["MATERIAL_KIND_"+strings.ToUpper(*kind)]
		if !ok || k == 0 {
			return fmt.Errorf("--kind %q: want banner, text or link", *kind)
		}
		m.Product, m.Material, m.Kind = args[0], args[1], accruev1.MaterialKind(k)
		r, err := c.products.PutMaterial(cmd.Context(), connect.NewRequest(&accruev1.PutMaterialRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, randomKey("material")), Material: m}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { materialTable(w, r.Msg.GetMaterial()) })
	}
	return cmd
}

func (c *cli) materialDelete() *cobra.Command {
	cmd := &cobra.Command{Use: "delete PRODUCT MATERIAL", Short: "remove a product's material", Args: cobra.ExactArgs(2)}
	key := keyFlag(cmd, "derived from the product and material ids")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.products.DeleteMaterial(cmd.Context(), connect.NewRequest(&accruev1.DeleteMaterialRequest{Program: c.program,
			IdempotencyKey: c.idempotencyKey(*key, derivedKey("material", args[0], args[1], "delete")), Product: args[0], Material: args[1]}))
		if err != nil {
			return connectMessage(err)
		}
		return c.showWrite(r.Msg, r.Msg.GetReplayed(), func(w *tabwriter.Writer) { fmt.Fprintf(w, "deleted: %v\n", r.Msg.GetDeleted()) })
	}
	return cmd
}

func (c *cli) materialList() *cobra.Command {
	cmd := &cobra.Command{Use: "list PRODUCT", Short: "a product's materials (at most 100)", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		r, err := c.products.ListMaterials(cmd.Context(), connect.NewRequest(&accruev1.ListMaterialsRequest{Program: c.program, Product: args[0]}))
		if err != nil {
			return connectMessage(err)
		}
		return c.show(r.Msg, func(w *tabwriter.Writer) { materialTable(w, r.Msg.GetMaterials()...) })
	}
	return cmd
}

func (c *cli) materialPartner() *cobra.Command {
	cmd := &cobra.Command{Use: "partner PARTNER", Short: "the shown products' materials as a partner sees them, with its code filled in",
		Args: cobra.ExactArgs(1)}
	p := pagingFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rows, next, err := collect(p, func(token string, size int32) ([]*accruev1.PartnerProduct, string, error) {
			r, err := c.products.ListPartnerMaterials(cmd.Context(), connect.NewRequest(&accruev1.ListPartnerMaterialsRequest{
				Program: c.program, Partner: args[0], PageToken: token, PageSize: size}))
			if err != nil {
				return nil, "", err
			}
			return r.Msg.GetProducts(), r.Msg.GetNextPageToken(), nil
		})
		if err != nil {
			return err
		}
		err = c.show(&accruev1.ListPartnerMaterialsResponse{Products: rows, NextPageToken: next}, func(w *tabwriter.Writer) {
			var ms []*accruev1.Material
			for _, pp := range rows {
				ms = append(ms, pp.GetMaterials()...)
			}
			materialTable(w, ms...)
		})
		c.more(next)
		return err
	}
	return cmd
}
