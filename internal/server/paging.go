package server

import (
	"encoding/base64"
	"encoding/json"

	"github.com/accrue/accrue/internal/fault"
)

// encodeCursor renders a keyset position (the sort key of the last row
// returned) as an opaque page token.
func encodeCursor(key ...string) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a page token of n key parts; nil for the first page.
func decodeCursor(token string, n int) ([]string, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var key []string
	if err != nil || json.Unmarshal(b, &key) != nil || len(key) != n {
		return nil, fault.Invalid("page_token", "malformed")
	}
	return key, nil
}
