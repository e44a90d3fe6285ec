package discovery

// SetRollupEvery makes s's imports roll up after every n new events, so that tests see imports
// with several rollups.
func SetRollupEvery(s *Store, n int) { s.rollupAfter = n }
