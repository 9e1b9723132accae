package server

import (
	"html/template"
	"net/http"
)

// signInTokenMax bounds the token a sign-in form may carry, in bytes (a
// token is 75 characters).
const signInTokenMax = 512

// signInPage is the confirmation page of a sign-in link: opening the link
// (GET) only shows it, and its button POSTs the token, so a mail scanner
// that fetches every link in a message does not use the link up. It has
// no script and no outside resource.
var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · accrue</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1b1f24;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;border:1px solid #d9dde3;border-radius:10px;padding:1.5rem}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f5fbf;background:#1f5fbf;color:#fff;cursor:pointer}
p{line-height:1.45}.ru{color:#5b6470}</style></head>
<body><main>
<h1>Sign in to accrue</h1>
<p>You opened a sign-in link. Press the button to sign in; the link works once.</p>
<p class="ru" lang="ru">Вы открыли ссылку для входа. Нажмите кнопку, чтобы войти; ссылка одноразовая.</p>
<form method="post" action="/portal/signin">
<input type="hidden" name="token" value="{{.}}">
<button type="submit" autofocus>Sign in · Войти</button>
</form>
</main></body></html>
`))

// signInConfirm answers GET /portal/signin?token=: the confirmation page,
// which consumes nothing.
func (s *Server) signInConfirm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	token := r.URL.Query().Get("token")
	if len(token) > signInTokenMax {
		token = ""
	}
	_ = signInPage.Execute(w, token)
}
