package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"promiseledger/access"
	"promiseledger/events"
)

// principals, in the order of the columns of the matrix below.
var principals = []string{"county (own)", "county (other)", "supervisor", "auditor", "admin", "no token"}

// permissionMatrix is who may do what, endpoint by endpoint. Each row gives
// the status each principal gets when acting on a commitment of county
// 532301 (or on that county). "county (own)" is the office of 532301,
// "county (other)" the office of 532322. Every refused request appends nothing.
//
// A county office cannot tell another county's commitment from one that does
// not exist (404); a role that may never take an action is told so (403).
var permissionMatrix = []struct {
	route string
	want  [6]int // county (own), county (other), supervisor, auditor, admin, no token
}{
	{"GET /api/v1/commitments", [6]int{200, 200, 200, 200, 200, 401}}, // a county office sees only its own county's
	{"GET /api/v1/commitments/{id}", [6]int{200, 404, 200, 200, 200, 401}},
	{"GET /api/v1/commitments/{id}/history", [6]int{200, 404, 200, 200, 200, 401}},
	{"GET /api/v1/counties", [6]int{200, 200, 200, 200, 200, 401}}, // a county office sees only its own county
	{"GET /api/v1/counties/{code}", [6]int{200, 404, 200, 200, 200, 401}},
	{"GET /api/v1/investors", [6]int{200, 200, 200, 200, 200, 401}},               // a county office sees only its own county's
	{"GET /api/v1/investors/{credit_code}", [6]int{200, 404, 200, 200, 200, 401}}, // another county's promises are not there
	{"GET /api/v1/projects", [6]int{200, 200, 200, 200, 200, 401}},
	{"GET /api/v1/aging", [6]int{200, 200, 200, 200, 200, 401}},                         // a county office sees only its own county
	{"GET /api/v1/commitments/export?format=csv", [6]int{200, 200, 200, 200, 200, 401}}, // a county office exports only its own county's
	{"GET /api/v1/imports/template", [6]int{200, 200, 200, 200, 200, 401}},
	{"GET /api/v1/attachments/{sha256}", [6]int{200, 404, 200, 200, 200, 401}}, // a file cited by a commitment of 532301

	{"POST /api/v1/commitments", [6]int{201, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/fulfillments", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/reversals", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/disputes", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/imports", [6]int{200, 400, 200, 403, 403, 401}}, // a county office imports its own county's rows only
	{"POST /api/v1/attachments", [6]int{201, 201, 201, 403, 403, 401}},

	{"POST /api/v1/commitments/{id}/amendments", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/waiver", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/cancellation", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/corrections", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/handover", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/voiding", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/acknowledgement", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/progress", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure-request", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/extension-requests", [6]int{201, 404, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/extension-requests/{request_id}/decision", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/supervision-orders", [6]int{403, 403, 201, 403, 403, 401}},
	{"POST /api/v1/commitments/{id}/disputes/{dispute_id}/resolution", [6]int{403, 403, 201, 403, 403, 401}},

	{"GET /api/v1/commitments/{id}/proof?event={event}", [6]int{200, 404, 200, 200, 200, 401}},
	{"GET /api/v1/audit/pubkey", [6]int{200, 200, 200, 200, 200, 401}},
	{"GET /api/v1/audit/verify", [6]int{403, 403, 200, 200, 403, 401}},
	{"GET /api/v1/audit/seals", [6]int{403, 403, 200, 200, 403, 401}},
	{"GET /api/v1/audit/export", [6]int{403, 403, 200, 200, 403, 401}},
	{"GET /api/v1/audit/consistency?from={seal}&to={seal}", [6]int{403, 403, 200, 200, 403, 401}},
	{"GET /api/v1/alerts/stream", [6]int{200, 200, 200, 200, 200, 401}},
	{"GET /api/v1/alerts", [6]int{200, 200, 200, 200, 200, 401}},
	{"GET /api/v1/reports/overdue", [6]int{200, 200, 200, 200, 200, 401}},

	{"GET /api/v1/tokens", [6]int{403, 403, 403, 403, 200, 401}},
	{"POST /api/v1/tokens", [6]int{403, 403, 403, 403, 201, 401}},
	{"POST /api/v1/tokens/{name}/revocation", [6]int{403, 403, 403, 403, 200, 401}},

	{"GET /healthz", [6]int{200, 200, 200, 200, 200, 200}},
	{"GET /readyz", [6]int{200, 200, 200, 200, 200, 200}},
	{"GET /metrics", [6]int{403, 403, 200, 200, 200, 401}}, // counts across every county
	{"GET /api/v1/openapi.json", [6]int{200, 200, 200, 200, 200, 200}},
}

// multipartFiles are the files the matrix uploads: a name, and contents
// made different for each request from the row's and the column's numbers.
var multipartFiles = map[string]struct{ name, data string }{
	"POST /api/v1/imports": {"台账.csv", "县市区,责任单位,项目名称,投资企业,承诺类型,承诺事项,承诺数量,签约日期,兑现期限,协议文号\n" +
		"楚雄市,楚雄市财政局,导入项目,导入企业,补贴,设备补助,12万元,2020-03-15,2020-12-31,矩阵〔%d〕%d号\n"},
	"POST /api/v1/attachments": {"合同.pdf", "%%PDF-1.7\nrow %d column %d\n%%%%EOF\n"},
}

func TestAccess_PermissionMatrix(t *testing.T) {
	h := newHarness(t)
	tokenNames := map[string]string{"county (own)": "county-532301", "county (other)": "county-532322",
		"supervisor": "supervisor", "auditor": "auditor", "admin": "admin", "no token": ""}
	bodies := map[string]any{
		"POST /api/v1/commitments":                                                    commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"),
		"POST /api/v1/commitments/{id}/fulfillments":                                  fulfilment("10", "mu", "2020-10-01"),
		"POST /api/v1/commitments/{id}/disputes":                                      map[string]any{"complainant": "企业", "summary": "未兑现"},
		"POST /api/v1/commitments/{id}/amendments":                                    map[string]any{"due": "2027-06-30", "reason": "延期", "approval": "批复"},
		"POST /api/v1/commitments/{id}/waiver":                                        map[string]any{"reason": "放弃", "approval": "批复"},
		"POST /api/v1/commitments/{id}/cancellation":                                  map[string]any{"reason": "取消", "approval": "批复"},
		"POST /api/v1/commitments/{id}/corrections":                                   map[string]any{"fields": map[string]any{"project": "年产10GW单晶硅片项目"}, "reason": "项目名称笔误"},
		"POST /api/v1/commitments/{id}/handover":                                      map[string]any{"department": "楚雄市自然资源和规划局", "reason": "机构改革", "approval": "楚编〔2024〕3号"},
		"POST /api/v1/commitments/{id}/voiding":                                       map[string]any{"reason": "重复录入", "approval": "州投资促进局批复"},
		"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/acknowledgement": map[string]any{"note": "已签收"},
		"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/progress":        map[string]any{"note": "已完成征收"},
		"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure-request": map[string]any{"evidence": "出让合同"},
		"POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure":         map[string]any{"outcome": "closed"},
		"POST /api/v1/commitments/{id}/extension-requests":                            map[string]any{"due": "2028-06-30", "reason": "征地延误"},
		"POST /api/v1/commitments/{id}/extension-requests/{request_id}/decision":      map[string]any{"outcome": "approved", "approval": "批复"},
		"POST /api/v1/commitments/{id}/supervision-orders":                            map[string]any{"deadline": "2027-03-31"},
		"POST /api/v1/commitments/{id}/disputes/{dispute_id}/resolution":              map[string]any{"outcome": "upheld"},
	}
	for ri, row := range permissionMatrix {
		for col, who := range principals {
			t.Run(row.route+" as "+who, func(t *testing.T) {
				// A fresh commitment of 532301 with a fulfilment and an open dispute.
				sup := *h
				sup.t = t
				c := sup.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
				id := c.str("id")
				f := sup.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("100", "mu", "2020-09-01"))
				d := sup.must(201, "POST", "/api/v1/commitments/"+id+"/disputes", map[string]any{"complainant": "企业", "summary": "未兑现"})
				if strings.Contains(row.route, "proof") || strings.Contains(row.route, "consistency") {
					if _, err := h.sealer.SealNow(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				tokenName := fmt.Sprintf("临时令牌 %d-%d", ri, col)
				_, tok, _ := access.NewToken(access.Principal{Name: tokenName, Role: access.Auditor}, nil, testNow)
				if err := h.tokens.Add(tok); err != nil {
					t.Fatal(err)
				}
				body := bodies[row.route]
				switch row.route {
				case "POST /api/v1/commitments/{id}/reversals":
					body = map[string]any{"fulfillment_id": f.body["fulfillments"].([]any)[0].(map[string]any)["id"], "reason": "录入错误"}
				case "POST /api/v1/tokens":
					body = map[string]any{"name": "new " + tokenName, "role": "auditor"}
				}
				// The loop's steps need an order, or a request, in the right state.
				var orderID, requestID string
				if strings.Contains(row.route, "{order_id}") {
					o := sup.must(201, "POST", "/api/v1/commitments/"+id+"/supervision-orders", map[string]any{"deadline": "2027-12-31"})
					orderID = o.body["supervision_orders"].([]any)[0].(map[string]any)["id"].(string)
					ob := "/api/v1/commitments/" + id + "/supervision-orders/" + orderID
					if !strings.HasSuffix(row.route, "/acknowledgement") {
						sup.must(201, "POST", ob+"/acknowledgement", map[string]any{})
					}
					if strings.HasSuffix(row.route, "/closure") {
						sup.must(201, "POST", ob+"/closure-request", map[string]any{"evidence": "凭证"})
					}
				}
				if strings.Contains(row.route, "{request_id}") {
					rq := sup.must(201, "POST", "/api/v1/commitments/"+id+"/extension-requests", map[string]any{"due": "2028-06-30", "reason": "延误"})
					requestID = rq.body["extension_requests"].([]any)[0].(map[string]any)["id"].(string)
				}
				// Files go as multipart; a file to download is cited first.
				var headers []string
				var digest string
				if strings.Contains(row.route, "{sha256}") {
					up := sup.upload("出让合同.pdf", []byte(fmt.Sprintf("%%PDF-1.7\n%d-%d\n%%%%EOF\n", ri, col)))
					digest = up.str("sha256")
					cite := fulfilment("1", "mu", "2020-09-02")
					cite["attachments"] = []string{digest}
					sup.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", cite)
				}
				if file, ok := multipartFiles[row.route]; ok {
					var buf bytes.Buffer
					mw := multipart.NewWriter(&buf)
					fw, _ := mw.CreateFormFile("file", file.name)
					_, _ = fw.Write([]byte(fmt.Sprintf(file.data, ri, col)))
					_ = mw.Close()
					body, headers = buf.String(), []string{"Content-Type", mw.FormDataContentType()}
				}
				method, path, _ := strings.Cut(row.route, " ")
				path = strings.NewReplacer("{id}", id, "{dispute_id}", d.body["disputes"].([]any)[0].(map[string]any)["id"].(string),
					"{code}", "532301", "{credit_code}", creditCode(1), "{name}", url.PathEscape(tokenName), "{event}", f.body["fulfillments"].([]any)[0].(map[string]any)["id"].(string), "{seal}", lastSeal(h), "{order_id}", orderID, "{request_id}", requestID, "{sha256}", digest).Replace(path)

				as := h.as(tokenNames[who])
				as.t = t
				before := as.events()
				if strings.HasSuffix(path, "/stream") { // an event stream never ends: its status is enough
					if got := as.streamStatus(path); got != row.want[col] {
						t.Fatalf("%s as %s: %d, want %d", row.route, who, got, row.want[col])
					}
					return
				}
				r := as.do(method, path, body, headers...)
				if r.status != row.want[col] {
					t.Fatalf("%s as %s: %d, want %d: %s", row.route, who, r.status, row.want[col], r.raw)
				}
				if r.status >= 400 && as.events() != before {
					t.Fatalf("a refused request appended %d events", as.events()-before)
				}
				if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				// Reads by a county office show nothing of another county.
				if who == "county (other)" && r.status == 200 && strings.HasPrefix(row.route, "GET /api/v1/") && row.route != "GET /api/v1/openapi.json" && row.route != "GET /api/v1/audit/pubkey" && strings.Contains(string(r.raw), "532301") {
					t.Fatalf("county 532322 saw county 532301: %.300s", r.raw)
				}
				// Writes name who made them.
				if method == "POST" && r.status == 201 && strings.Contains(row.route, "commitments") {
					hist := sup.must(200, "GET", "/api/v1/commitments/"+r.str("id")+"/history", nil).body["events"].([]any)
					actor := hist[len(hist)-1].(map[string]any)["actor"].(map[string]any)
					if actor["name"] != tokenNames[who] {
						t.Fatalf("the event's actor is %v, want %s", actor, tokenNames[who])
					}
				}
			})
		}
	}
}

func TestAccess_CountyScopeOfLists(t *testing.T) {
	h := newHarness(t)
	h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	h.must(201, "POST", "/api/v1/commitments", commitment("532322", "land", "30", "mu", "2020-03-15", "2020-12-31"))
	own := h.as("county-532322")
	items := own.must(200, "GET", "/api/v1/commitments", nil).body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["county"] != "532322" {
		t.Fatalf("own list: %v", items)
	}
	if items := own.must(200, "GET", "/api/v1/commitments?county=532301", nil).body["items"].([]any); len(items) != 0 {
		t.Fatalf("asking for another county's list: %v", items)
	}
	counties := own.must(200, "GET", "/api/v1/counties", nil).body["counties"].([]any)
	if len(counties) != 1 || counties[0].(map[string]any)["code"] != "532322" {
		t.Fatalf("counties: %v", counties)
	}
	if all := h.as("auditor").must(200, "GET", "/api/v1/counties", nil).body["counties"].([]any); len(all) != 10 {
		t.Fatalf("an auditor sees every county: %d", len(all))
	}
}

func TestAccess_TokenLifecycle(t *testing.T) {
	h := newHarness(t)
	admin := h.as("admin")
	r := admin.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "楚雄市投资促进局", "role": "county", "county": "532301", "expires": "2026-12-31"})
	bearer := r.str("token")
	if !strings.HasPrefix(bearer, "pl_") || r.body["active"] != true || strings.Contains(string(r.raw), `"hash"`) {
		t.Fatalf("new token: %s", r.raw)
	}
	office := *h
	office.auth = bearer
	c := office.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	hist := office.must(200, "GET", "/api/v1/commitments/"+c.str("id")+"/history", nil).body["events"].([]any)
	if a := hist[0].(map[string]any)["actor"].(map[string]any); a["name"] != "楚雄市投资促进局" || a["role"] != "county" {
		t.Fatalf("actor %v", a)
	}
	// The list never shows a token or its hash.
	if l := admin.must(200, "GET", "/api/v1/tokens", nil); strings.Contains(string(l.raw), bearer) || strings.Contains(string(l.raw), "hash") {
		t.Fatalf("token list leaks: %s", l.raw)
	}
	if r := admin.do("POST", "/api/v1/tokens", map[string]any{"name": "楚雄市投资促进局", "role": "auditor"}); r.status != 409 {
		t.Fatalf("same name twice: %d", r.status)
	}
	for _, bad := range []map[string]any{
		{"name": "", "role": "auditor"}, {"name": "x", "role": "king"}, {"name": "x", "role": "county"},
		{"name": "x", "role": "county", "county": "110101"}, {"name": "x", "role": "auditor", "county": "532301"},
		{"name": "x", "role": "auditor", "expires": "2020-01-01"},
	} {
		if r := admin.do("POST", "/api/v1/tokens", bad); r.status != 400 || r.errField() == "" {
			t.Errorf("%v: %d %s", bad, r.status, r.raw)
		}
	}

	// Expired after its last day.
	h.clock.Set(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)) // 1 January in Chuxiong
	if r := office.do("GET", "/api/v1/commitments", nil); r.status != 401 || !strings.Contains(r.errMessage(), "expired") {
		t.Fatalf("expired token: %d %s", r.status, r.raw)
	}
	h.clock.Set(testNow)
	office.must(200, "GET", "/api/v1/commitments", nil)

	// Revoked.
	admin.must(200, "POST", "/api/v1/tokens/"+url.PathEscape("楚雄市投资促进局")+"/revocation", nil)
	before := h.events()
	if r := office.do("POST", "/api/v1/commitments", commitment("532301", "land", "1", "mu", "2020-03-15", "2020-12-31")); r.status != 401 || !strings.Contains(r.errMessage(), "revoked") {
		t.Fatalf("revoked token: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a revoked token appended")
	}
	if r := admin.do("POST", "/api/v1/tokens/nobody/revocation", nil); r.status != 404 {
		t.Fatalf("revoking an unknown token: %d", r.status)
	}

	// Forged and malformed tokens.
	for _, bad := range []string{"pl_" + strings.Repeat("a", 8) + "_" + strings.Repeat("b", 40), bearer + "x", "Basic abc", strings.Replace(bearer, "pl_", "", 1)} {
		forged := *h
		forged.auth = bad
		if r := forged.do("GET", "/api/v1/commitments", nil); r.status != 401 {
			t.Errorf("token %q: %d", bad, r.status)
		}
	}
	m := h.must(200, "GET", "/metrics", nil)
	if !strings.Contains(string(m.raw), `ledger_http_refused_total{role="none",route="POST /api/v1/commitments",status="401"} 1`) {
		t.Errorf("refusals are not counted:\n%s", grep(string(m.raw), "refused"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestAccess_RateLimit(t *testing.T) {
	h := newHarnessWith(t, 0.01, 3) // one request per 100 s once the burst is spent
	for i := 0; i < 3; i++ {
		h.must(200, "GET", "/api/v1/counties", nil)
	}
	r := h.do("GET", "/api/v1/counties", nil)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" || err != nil || ra < 1 {
		t.Fatalf("over the limit: %d %s %q", r.status, r.raw, r.header.Get("Retry-After"))
	}
	// Another token has its own allowance.
	h.as("auditor").must(200, "GET", "/api/v1/counties", nil)
	_ = events.Anonymous
}

func lastSeal(h *harness) string {
	seals := h.sealer.Seals()
	if len(seals) == 0 {
		return "0"
	}
	return fmt.Sprint(seals[len(seals)-1].At)
}

// streamStatus opens an event stream and returns its status without reading it.
func (h *harness) streamStatus(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+path, nil)
	if h.auth != "" {
		req.Header.Set("Authorization", "Bearer "+h.auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode
}

// Every API route of the routes table has its row in the permission matrix,
// so that a new endpoint cannot ship without saying who may use it (the web
// pages have their own tests).
func TestAccess_MatrixCoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	inMatrix := map[string]bool{}
	for _, row := range permissionMatrix {
		route, _, _ := strings.Cut(row.route, "?")
		inMatrix[route] = true
	}
	for _, m := range regexp.MustCompile(`mux\.Handle\("((?:GET|POST|PUT|DELETE) (?:/api/[^"]*|/healthz|/readyz|/metrics))"`).FindAllStringSubmatch(string(src), -1) {
		if !inMatrix[m[1]] {
			t.Errorf("route %s has no row in the permission matrix", m[1])
		}
	}
}
