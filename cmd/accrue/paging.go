package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// pagesMax bounds how many pages --all follows (a million rows at the
// largest page size): a server that always answers a next token cannot
// keep the CLI reading forever.
const pagesMax = 1000

// pageSizeAll is the page size --all asks for unless --page-size says.
const pageSizeAll = 1000

// paging holds a list command's --all, --page-token and --page-size.
type paging struct {
	all   bool
	token string
	size  int32
}

// pagingFlags adds --all, --page-token and --page-size to a list command.
func pagingFlags(cmd *cobra.Command) *paging {
	p := new(paging)
	cmd.Flags().BoolVar(&p.all, "all", false, "follow the page tokens to the last page")
	cmd.Flags().StringVar(&p.token, "page-token", "", "start at this page (the token a previous page printed)")
	cmd.Flags().Int32Var(&p.size, "page-size", 0, "rows per page, at most 1000 (default: the server's, 100; 1000 with --all)")
	return p
}

// collect reads one page, or with --all every page, through fetch (which
// asks for the page at token with size rows), and returns the rows and the
// token of the next page (empty after the last).
func collect[T any](p *paging, fetch func(token string, size int32) ([]T, string, error)) ([]T, string, error) {
	size, token := p.size, p.token
	if p.all && size == 0 {
		size = pageSizeAll
	}
	var rows []T
	for range pagesMax {
		page, next, err := fetch(token, size)
		if err != nil {
			return nil, "", connectMessage(err)
		}
		rows = append(rows, page...)
		if !p.all || next == "" {
			return rows, next, nil
		}
		token = next
	}
	return nil, "", fmt.Errorf("--all: stopped after %d pages; continue with --page-token %s", pagesMax, token)
}

// more prints, when there is a next page, how to read it: a list is never
// cut silently.
func (c *cli) more(next string) {
	if next != "" {
		c.note("more: use --page-token %s (or --all)", next)
	}
}
