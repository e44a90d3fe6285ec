package portal

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive; it checks nothing else, so an orchestrator does not restart
// Paved because the database blinked.
func (s *Server) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz says whether this replica can serve: every dependency is probed in parallel, each with
// its own timeout, and a failing one makes the answer 503 with its name.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	results := make(map[string]string, len(s.checks))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ready := true
	for _, ch := range s.checks {
		wg.Go(func() {
			err := ch.Check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ready = false
				results[ch.Name] = "failing"
				s.log.WarnContext(ctx, "readiness check failed", "check", ch.Name, "err", err)
				return
			}
			results[ch.Name] = "ok"
		})
	}
	wg.Wait()
	body := gin.H{"checks": results}
	// Lag is reported, not judged: a backlog after a bulk change is normal and drains.
	if s.indexLag != nil {
		if n, err := s.indexLag(ctx); err == nil {
			body["index_lag"] = n
		}
	}
	c.Header("Cache-Control", "no-store")
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not ready"
	}
	body["status"] = word
	c.JSON(status, body)
}
