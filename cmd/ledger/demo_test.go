package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The demo cannot leak into a real ledger: started, stopped and restarted on
// the same folder without --demo, its well-known tokens are refused, the
// start says loudly that the folder holds the demo, and a real admin token
// exists to work with.
func TestRun_DemoTokensRefusedWithoutDemo(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := startOutput(t, "--data", dir, "--demo")
	if status, b := call(t, "GET", url+"/api/v1/counties", ""); status != http.StatusOK {
		t.Fatalf("the demo supervisor while serving with --demo: %d %s", status, b)
	}
	admin := regexp.MustCompile(`admin token was created.*\n\s+(pl_\S+)\n`).FindStringSubmatch(out.String())
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if admin == nil {
		t.Fatalf("no real admin token was made beside the demo's:\n%s", out.String())
	}

	url, out, stop = startOutput(t, "--data", dir)
	defer stop()
	if !strings.Contains(out.String(), "THIS FOLDER HOLDS THE SYNTHETIC DEMO DATA SET") {
		t.Errorf("a real start on the demo's folder says nothing:\n%s", out.String())
	}
	for _, bearer := range []string{"pl_demo-supervisor_demo", "pl_demo-admin_demo", "pl_demo-532301_demo", "pl_demo-auditor_demo"} {
		req, _ := http.NewRequest("GET", url+"/api/v1/counties", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without --demo: %d, want 401", bearer, res.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", url+"/api/v1/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+admin[1])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("the real admin token: %d", res.StatusCode)
	}
	// The demo's admin token administers nothing here, so the real one is
	// the last admin and cannot be revoked.
	req, _ = http.NewRequest("POST", url+"/api/v1/tokens/admin/revocation", nil)
	req.Header.Set("Authorization", "Bearer "+admin[1])
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Errorf("revoking the last real admin beside the demo's: %d, want 409", res.StatusCode)
	}
}
