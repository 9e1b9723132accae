package apidoc

import (
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// lines are a comment's lines, one leading space (after "//") removed and
// trailing blanks trimmed, without leading or trailing empty lines.
func lines(c protogen.CommentSet) []string {
	text := string(c.Leading)
	if c.Trailing != "" {
		text = strings.TrimRight(text, "\n") + "\n\n" + string(c.Trailing)
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		out = append(out, strings.TrimRight(strings.TrimPrefix(l, " "), " \t"))
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// writeParagraphs writes a declaration's comment as Markdown paragraphs
// (a blank line in the comment starts a new one); nothing for none.
func writeParagraphs(b *strings.Builder, c protogen.CommentSet) {
	ls := lines(c)
	if len(ls) == 0 {
		return
	}
	b.WriteString("\n")
	for _, l := range ls {
		b.WriteString(escape(l))
		b.WriteString("\n")
	}
}

// cell is a comment as one table cell: lines joined by spaces, paragraphs
// by <br>, pipes escaped.
func cell(c protogen.CommentSet) string {
	var paras []string
	var cur []string
	for _, l := range append(lines(c), "") {
		if l == "" {
			if len(cur) > 0 {
				paras = append(paras, escape(strings.Join(cur, " ")))
			}
			cur = nil
			continue
		}
		cur = append(cur, strings.TrimSpace(l))
	}
	return strings.ReplaceAll(strings.Join(paras, "<br>"), "|", `\|`)
}

// escape keeps comment text from being read as HTML: "partner:<id>:payable"
// must show its <id>.
func escape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}
