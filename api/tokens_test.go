package api_test

import (
	"net/url"
	"testing"
)

// TestAccess_LastAdminIsNotRevoked: revoking the last admin token would
// leave nobody able to manage tokens; it is refused with 409 last_admin.
// An admin token in its last day, or revoked, does not count as another.
func TestAccess_LastAdminIsNotRevoked(t *testing.T) {
	h := newHarness(t)
	admin := h.as("admin")
	revoke := func(as *harness, name string) response {
		return as.do("POST", "/api/v1/tokens/"+url.PathEscape(name)+"/revocation", nil)
	}
	refused := func(as *harness, name string) {
		t.Helper()
		before := h.events()
		r := revoke(as, name)
		if r.status != 409 || r.errCode() != "last_admin" || r.errField() != "name" || r.errMessage() == "" {
			t.Fatalf("revoking %s: %d %s", name, r.status, r.raw)
		}
		if h.events() != before {
			t.Fatal("a refused revocation appended")
		}
	}

	refused(admin, "admin")
	admin.must(200, "GET", "/api/v1/tokens", nil) // still an admin

	// An admin token that ends today would leave nobody tomorrow.
	admin.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "值班管理员", "role": "admin", "expires": "2026-11-27"})
	refused(admin, "admin")

	// With a second admin the first may go; then the second is the last.
	second := h.as("admin")
	second.auth = admin.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "州投促局管理员", "role": "admin"}).str("token")
	admin.must(200, "POST", "/api/v1/tokens/admin/revocation", nil)
	refused(second, "州投促局管理员")

	// Revoking a revoked admin token changes nothing, as before; other roles go as before.
	second.must(200, "POST", "/api/v1/tokens/admin/revocation", nil)
	second.must(200, "POST", "/api/v1/tokens/supervisor/revocation", nil)
	second.must(200, "POST", "/api/v1/tokens/"+url.PathEscape("值班管理员")+"/revocation", nil)
	refused(second, "州投促局管理员")
}
