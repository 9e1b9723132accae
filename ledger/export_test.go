package ledger

// ContentHash exposes contentHash to the tamper tests, which play an
// attacker who recomputes hashes after a rewrite.
func ContentHash(t Transaction, scale int32) []byte { return contentHash(t, scale) }
