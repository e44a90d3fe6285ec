package requests

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/jobs"
)

// VoteSettings govern votes: how they are counted, when the periodic job opens one by demand.
type VoteSettings struct {
	Rules     VotingRules
	Threshold DemandThreshold // 0: never open a vote by demand alone
}

// SetVoteSettings sets the rules every close of a vote counts by (the window's end, the last
// member's vote, the chair's early close) and the demand threshold.
func (s *Service) SetVoteSettings(v VoteSettings) { s.votes = v }

// VotingRules are the rules votes are counted by.
func (s *Service) VotingRules() VotingRules { return s.votes.Rules }

// RegisterJobs adds the request workflow's workers to j; settings, when given, replace the
// service's vote settings.
func (s *Service) RegisterJobs(j *jobs.Jobs, settings ...VoteSettings) {
	if len(settings) > 0 {
		s.SetVoteSettings(settings[0])
	}
	jobs.AddWorker(j, &CloseVotesWorker{Requests: s, Rules: s.votes.Rules, Threshold: s.votes.Threshold})
}

// CloseVotesArgs asks for every vote whose window has ended to be closed and tallied.
type CloseVotesArgs struct{}

// Kind names the job.
func (CloseVotesArgs) Kind() string { return "catalog.close_votes" }

// CloseVotesWorker closes ended votes with the configured rules, and opens votes on reviewed
// proposals whose demand reached the threshold.
type CloseVotesWorker struct {
	river.WorkerDefaults[CloseVotesArgs]
	Requests  *Service
	Rules     VotingRules
	Threshold DemandThreshold
}

// Work closes the ended votes and opens the demanded ones.
func (w *CloseVotesWorker) Work(ctx context.Context, _ *river.Job[CloseVotesArgs]) error {
	if _, err := w.Requests.CloseEndedVotes(ctx, w.Rules); err != nil {
		return err
	}
	if _, err := w.Requests.ReopenEndedPilots(ctx); err != nil {
		return err
	}
	_, err := w.Requests.OpenDemandedVotes(ctx, w.Threshold)
	return err
}

// CloseVotesPeriodic runs the vote-closing job every minute on one replica (River's leader).
func CloseVotesPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return CloseVotesArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
