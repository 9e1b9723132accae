package webhook

import "math/rand/v2"

// randomFactor is a jitter factor in [0.75, 1.25): retries of many
// deliveries that failed together spread out instead of arriving at once.
func randomFactor() float64 { return 0.75 + rand.Float64()/2 }
