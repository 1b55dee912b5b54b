package api

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter rate-limits a kind of request per client IP, remembering at
// most maxIPs of them (the least recently seen is forgotten first), so that
// its own memory stays bounded whatever the number of senders.
type ipLimiter struct {
	every  rate.Limit
	burst  int
	maxIPs int

	mu   sync.Mutex
	byIP map[string]*ipEntry
}

type ipEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSecond float64, burst, maxIPs int) *ipLimiter {
	return &ipLimiter{every: rate.Limit(perSecond), burst: burst, maxIPs: maxIPs, byIP: map[string]*ipEntry{}}
}

// allow reports whether ip may make one more request now.
func (l *ipLimiter) allow(ip string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byIP[ip]
	if e == nil {
		if len(l.byIP) >= l.maxIPs {
			l.forgetOldest()
		}
		e = &ipEntry{lim: rate.NewLimiter(l.every, l.burst)}
		l.byIP[ip] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

func (l *ipLimiter) forgetOldest() {
	var oldest string
	var at time.Time
	for ip, e := range l.byIP {
		if oldest == "" || e.seen.Before(at) {
			oldest, at = ip, e.seen
		}
	}
	delete(l.byIP, oldest)
}

// overLimit answers 429 and reports true when the client's IP has made
// more requests of a kind (counted by l) than it may.
func (s *Server) overLimit(w http.ResponseWriter, r *http.Request, l *ipLimiter, what string, perSecond, burst int) bool {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if l.allow(host) {
		return false
	}
	w.Header().Set("Retry-After", "1")
	s.fail(w, r, http.StatusTooManyRequests, fmt.Sprintf("too many %s from %s (at most %d per second, bursts of %d)", what, host, perSecond, burst), "")
	return true
}
