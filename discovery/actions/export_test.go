package actions

// SetAfterStep makes the run job call f after each recorded step; an error stops the attempt
// there, as a crash would.
func SetAfterStep(s *Service, f func(actionID int64, done int) error) { s.afterStep = f }
