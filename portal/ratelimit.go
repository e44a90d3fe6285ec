package portal

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/errs"
)

// codeTooManyRequests is the rate limiter's answer; no domain function returns it.
const codeTooManyRequests errs.Code = "too_many_requests"

// maxLimiterKeys bounds the limiter's memory: past it, addresses that have refilled are
// forgotten (they would start full anyway).
const maxLimiterKeys = 10000

// limiter is a token bucket per client address: perMinute calls a minute, with a burst of as
// many. Each replica counts on its own, which is enough to stop one address flooding a route.
type limiter struct {
	mu        sync.Mutex
	perMinute float64
	now       func() time.Time
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{perMinute: float64(perMinute), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes one token for key; when there is none it says how long until there is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiterKeys {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.perMinute, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.perMinute, b.tokens+now.Sub(b.at).Minutes()*l.perMinute)
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute))
	}
	b.tokens--
	return true, 0
}

func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Minutes()*l.perMinute >= l.perMinute {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterKeys { // everyone is busy: start over rather than grow
		clear(l.buckets)
	}
}

// rateLimited refuses a client address over its share of a route with 429 and Retry-After.
// perMinute 0 turns the limit off.
func (s *Server) rateLimited(perMinute int, h gin.HandlerFunc) gin.HandlerFunc {
	if perMinute <= 0 {
		return h
	}
	l := newLimiter(perMinute)
	return func(c *gin.Context) {
		ok, wait := l.allow(c.ClientIP())
		if !ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.fail(c, errs.E(codeTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again."))
			return
		}
		h(c)
	}
}
