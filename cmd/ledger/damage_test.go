package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ledgerBlock is the block file of the ledger's stream in a stopped
// embedded server's folder.
func ledgerBlock(t *testing.T, dir string) string {
	t.Helper()
	blks, err := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", "LEDGER", "msgs", "*.blk"))
	if err != nil || len(blks) != 1 {
		t.Fatalf("block files of LEDGER: %v %v", blks, err)
	}
	return blks[0]
}

// A damaged data folder is refused at start with the exact diagnosis —
// /readyz, every route, rebuild and verify all say it — never served, never
// waited on without end.
func TestRun_DamagedFolderIsRefusedAtStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, blk string)
		want   string
	}{
		{"a flipped byte", func(t *testing.T, blk string) {
			b, err := os.ReadFile(blk)
			if err != nil {
				t.Fatal(err)
			}
			// One byte of the 20th description in the file: inside an event's
			// body, so that JetStream's own checksum no longer matches it.
			at := 0
			for i := 0; i < 20; i++ {
				j := bytes.Index(b[at+1:], []byte(`"description":"`))
				if j < 0 {
					t.Fatal("too few events in the block")
				}
				at += 1 + j
			}
			b[at+len(`"description":"`)+2] ^= 0x01
			if err := os.WriteFile(blk, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "message missing: delivery went from sequence"},
		{"a block cut to two thirds", func(t *testing.T, blk string) {
			fi, err := os.Stat(blk)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(blk, fi.Size()*2/3); err != nil {
				t.Fatal(err)
			}
		}, "messages are missing (sequences "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, stop := start(t, "--data", dir, "--demo")
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, ledgerBlock(t, dir))

			url, _, stderr, stop := launch(t, "--data", dir, "--demo")
			readyz := func(token string) (int, string) {
				req, _ := http.NewRequest("GET", url+"/readyz", nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var ready struct {
					Ready   bool   `json:"ready"`
					Problem string `json:"problem"`
				}
				if err := json.NewDecoder(res.Body).Decode(&ready); err != nil {
					t.Fatal(err)
				}
				return res.StatusCode, ready.Problem
			}
			status, problem := readyz(demoSupervisor)
			for deadline := time.Now().Add(60 * time.Second); status == http.StatusServiceUnavailable && !strings.Contains(problem, "damaged") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				status, problem = readyz(demoSupervisor)
			}
			t.Logf("readyz problem: %s", problem)
			if status != http.StatusServiceUnavailable || !strings.Contains(problem, tc.want) {
				t.Fatalf("/readyz to a supervisor: %d %q; want 503 saying %q\n%s", status, problem, tc.want, stderr.String())
			}
			// Without a token: that the data is damaged, and where, but no counts.
			status, problem = readyz("")
			if status != http.StatusServiceUnavailable || !strings.Contains(problem, "damaged (stream LEDGER)") || strings.ContainsAny(problem, "0123456789") {
				t.Fatalf("/readyz without a token: %d %q", status, problem)
			}
			for _, r := range []struct{ method, path, body string }{
				{"GET", "/api/v1/commitments", ""},
				{"GET", "/api/v1/counties", ""},
				{"POST", "/api/v1/commitments", `{}`},
			} {
				status, b := call(t, r.method, url+r.path, r.body)
				if status != http.StatusServiceUnavailable || !strings.Contains(string(b), `"code":"damaged"`) {
					t.Fatalf("%s %s on a damaged ledger: %d %s", r.method, r.path, status, b)
				}
			}
			if !strings.Contains(stderr.String(), "DAMAGED") {
				t.Errorf("the log does not say the data is damaged:\n%s", stderr.String())
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			// The command-line readers end with the same diagnosis.
			for _, args := range [][]string{{"rebuild", "--data", dir}, {"audit", "verify", "--data", dir}} {
				out, err := ledgerCmd(t, args...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("ledger %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// A task that fails before the ledger is ready (not damage) ends serve with
// an error instead of leaving it waiting without end.
func TestRun_WaitReadyEndsWhenATaskFails(t *testing.T) {
	bg := newTasks(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	bg.Go("x", func(context.Context) error { return errors.New("jetstream: timeout") })
	n := &node{bg: bg, health: &damage{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- n.untilReady(context.Background(), func() bool { return false }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("waitReady returned nil while nothing was ready")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("waitReady waited on after a task failed")
	}
	if err := bg.Stop(nil); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the task's failure: %v", err)
	}
}
