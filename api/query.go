package api

import (
	"net/http"
	"slices"
	"strings"
)

// params refuses a request that carries a query parameter the route does
// not take: an auditor who misspells a filter must learn that nothing was
// filtered, not read the whole list believing it was.
func params(next http.Handler, names ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var unknown []string
		for k := range r.URL.Query() {
			if !slices.Contains(names, k) {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			takes := "takes no query parameters"
			if len(names) > 0 {
				takes = "takes only " + strings.Join(names, ", ")
			}
			writeError(w, badRequest("validation_failed", unknown[0], "%s: unknown query parameter; %s %s", unknown[0], r.Pattern, takes))
			return
		}
		next.ServeHTTP(w, r)
	})
}
