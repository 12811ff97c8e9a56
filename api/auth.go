package api

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"promiseledger/access"
)

type principalKey struct{}

// principal is who the request comes from; guard put it there.
func principal(r *http.Request) access.Principal {
	p, _ := r.Context().Value(principalKey{}).(access.Principal)
	return p
}

// guard lets a request through when the ledger is ready and [Server.authorize] does.
func (s *Server) guard(action access.Action, next http.Handler) http.Handler {
	return s.ready(s.authorize(action, next))
}

// authorize lets a request through when its bearer token is valid, its
// token is within its rate, and its role may take the action. It answers
// 401, 429 or 403 otherwise, logs the refusal and counts it.
func (s *Server) authorize(action access.Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A page's request on behalf of a signed-in person (see dispatch)
		// carries its principal; any other request, a bearer token.
		p, internal := r.Context().Value(internalKey{}).(access.Principal)
		if !internal {
			scheme, bearer, ok := strings.Cut(r.Header.Get("Authorization"), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				s.refuse(w, r, access.Principal{}, http.StatusUnauthorized, "unauthorized", "an Authorization: Bearer <token> header is required")
				return
			}
			var err error
			p, err = access.Authenticate(s.tokens, strings.TrimSpace(bearer), s.reads.Today())
			if err != nil {
				s.failures.wait(r.Context(), clientAddr(r))
				s.refuse(w, r, access.Principal{}, http.StatusUnauthorized, "unauthorized", err.Error())
				return
			}
		}
		if wait, ok := s.limits.allow(p.Name); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.refuse(w, r, p, http.StatusTooManyRequests, "rate_limited", "too many requests for this token; retry after the time in Retry-After")
			return
		}
		if !p.May(action) {
			s.refuse(w, r, p, http.StatusForbidden, "forbidden", "the "+string(p.Role)+" role may not "+string(action))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// refuse answers a refused request, logs who was refused and why, and counts it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, p access.Principal, status int, code, reason string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="promise-ledger"`)
	}
	s.refused(r, p, status, reason)
	writeError(w, &apiError{status: status, Code: code, Message: reason})
}

// forbidden is a refusal inside a handler: the role may act, but not here.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, field, reason string) {
	s.refused(r, principal(r), http.StatusForbidden, reason)
	writeError(w, &apiError{status: http.StatusForbidden, Code: "forbidden", Field: field, Message: reason})
}

// refused logs who was refused and why, and counts it.
func (s *Server) refused(r *http.Request, p access.Principal, status int, reason string) {
	role := string(p.Role)
	if role == "" {
		role = "none"
	}
	s.log.Warn("request refused", "principal", p.Name, "role", role, "method", r.Method, "route", r.Pattern, "status", status, "reason", reason)
	s.metrics.refused.WithLabelValues(r.Pattern, role, strconv.Itoa(status)).Inc()
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter keeps one token bucket per principal.
type limiter struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	by    map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{per: rate.Limit(perSecond), burst: max(burst, 1), by: map[string]*rate.Limiter{}}
}

// allow takes one request from the principal's bucket, or says how long to wait.
func (l *limiter) allow(name string) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.by[name]
	if !ok {
		lim = rate.NewLimiter(l.per, l.burst)
		l.by[name] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}

// failures slows down failed authentication from one address: each failure
// within a minute of the last doubles the delay, up to 32 times the first.
type failures struct {
	mu    sync.Mutex
	first time.Duration
	by    map[string]*failureRecord
}

type failureRecord struct {
	count int
	last  time.Time
}

func newFailures(first time.Duration) *failures {
	return &failures{first: first, by: map[string]*failureRecord{}}
}

// try counts an attempt by key before it is checked, so that attempts
// sent at once are counted at once: false when key has already tried limit
// times, each within a minute of the last (and then its minute starts
// again).
func (f *failures) try(key string, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	rec := f.by[key]
	if rec == nil || now.Sub(rec.last) > time.Minute {
		rec = &failureRecord{}
		f.by[key] = rec
	}
	rec.last = now
	if rec.count >= limit {
		return false
	}
	rec.count++
	return true
}

// pause waits as long as key's attempts call for: the first delay,
// doubling with each attempt, up to 32 times.
func (f *failures) pause(ctx context.Context, key string) {
	f.mu.Lock()
	n := 1
	if rec := f.by[key]; rec != nil {
		n = max(rec.count, 1)
	}
	f.mu.Unlock()
	t := time.NewTimer(f.first << min(n-1, 5))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// forget clears key's failures, after it succeeded.
func (f *failures) forget(key string) {
	f.mu.Lock()
	delete(f.by, key)
	f.mu.Unlock()
}

func (f *failures) wait(ctx context.Context, addr string) {
	f.mu.Lock()
	now := time.Now()
	rec := f.by[addr]
	if rec == nil || now.Sub(rec.last) > time.Minute {
		rec = &failureRecord{}
		f.by[addr] = rec
	}
	rec.count++
	rec.last = now
	delay := f.first << min(rec.count-1, 5)
	if len(f.by) > 10_000 { // forget the quiet ones
		for a, r := range f.by {
			if now.Sub(r.last) > time.Minute {
				delete(f.by, a)
			}
		}
	}
	f.mu.Unlock()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
