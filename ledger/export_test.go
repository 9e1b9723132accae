package ledger

// ContentHash exposes contentHash to the tamper tests, which play an
// attacker who recomputes hashes after a rewrite.
func ContentHash(t Transaction, scale int32) []byte { return contentHash(t, scale) }

// SetSnapshotLimits sets the batch size and the enrollment threshold of
// Snapshot for a test and returns the function that restores them.
func SetSnapshotLimits(batch, minEntries int) (restore func()) {
	oldBatch, oldMin := snapshotBatch, snapshotMinEntries
	snapshotBatch, snapshotMinEntries = batch, minEntries
	return func() { snapshotBatch, snapshotMinEntries = oldBatch, oldMin }
}
