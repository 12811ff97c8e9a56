package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/alerts"
	"promiseledger/audit"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

// The ledger's NATS account, as the README's cluster configuration names it.
const clusterAccount = "LEDGER"

// TestRun_Cluster runs two ledger instances on a three-node JetStream
// cluster configured as the README tells a deployer (its accounts block,
// verbatim), with --replicas 3 and one seal key, and shows what was so far
// only tried by hand: concurrent writes through both instances never
// over-fulfil; a stream leader stopped under load loses no acknowledged
// write and stores none twice; alerts and seals are appended once, not
// once per instance.
func TestRun_Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster and two ledgers: not in -short")
	}
	ledgerPW, auditorPW := "pw-"+randomHex(t), "pw-"+randomHex(t)
	t.Setenv("LEDGER_PASSWORD", ledgerPW) // as nats-server reads them, from its environment
	t.Setenv("AUDITOR_PASSWORD", auditorPW)
	cl := natstest.StartCluster(t, readmeAccounts(t))
	natsURL := cl.URLs(jsstore.LedgerUser + ":" + ledgerPW)

	keyFile := filepath.Join(t.TempDir(), "seal.key") // outside either instance's folder, as the README advises
	instance := func() (string, *syncBuffer, func() error) {
		return startOutput(t, "--nats-url", natsURL, "--replicas", "3", "--data", t.TempDir(), "--seal-key", keyFile,
			"--seal-every", "1", "--alert-interval", "250ms")
	}
	urlA, outA, stopA := instance()
	urlB, _, stopB := instance() // the second finds the streams, the tokens and the key the first made
	stopped := false
	defer func() {
		if !stopped {
			_ = stopA()
			_ = stopB()
		}
	}()
	if !regexp.MustCompile(`admin token was created`).MatchString(outA.String()) {
		t.Fatalf("the first instance made no admin token:\n%s", outA.String())
	}
	// A supervisor's token, made as the README says: ledger token add --nats-url.
	out, err := ledgerCmd(t, "token", "add", "--nats-url", natsURL, "--role", "supervisor", "--name", "州督查室")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	for _, u := range []string{urlA, urlB} { // each instance learns of it from the shared bucket
		pollUntil(t, "the new token to work on "+u, func() bool {
			status, _, err := request("GET", u+"/api/v1/counties", token, "")
			return err == nil && status == 200
		})
	}
	for _, stream := range []string{jsstore.DefaultStream, jsstore.AuditMirror, jsstore.AlertStream} {
		if r := streamReplicas(t, natsURL, stream); r != 3 {
			t.Fatalf("stream %s has %d replicas, want 3", stream, r)
		}
	}
	api := clusterAPI{t: t, urls: []string{urlA, urlB}, token: token}

	t.Run("concurrent fulfilments through both instances never over-fulfil", func(t *testing.T) {
		api := api.on(t)
		id := api.make(urlA, "2030-12-31", "100")
		api.waitVersion(id, 1)
		const n = 40
		statuses := make([]int, n)
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				status, b, err := request("POST", api.urls[i%2]+"/api/v1/commitments/"+id+"/fulfillments", token,
					fmt.Sprintf(`{"quantity": {"value": "10", "unit": "mu"}, "fulfilled_on": "2024-01-01", "evidence": "供地凭证 %d"}`, i))
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i], codes[i] = status, errorCode(b)
			})
		}
		wg.Wait()
		count := map[string]int{}
		for i := range n {
			count[fmt.Sprintf("%d %s", statuses[i], codes[i])]++
		}
		if count["201 "] != 10 || count["201 "]+count["409 exceeds_outstanding"] != n {
			t.Fatalf("40 fulfilments of 10 mu on a promise of 100: %v; want 10 × 201 and the rest 409 exceeds_outstanding", count)
		}
		for _, u := range api.urls {
			c := api.waitVersion(id, 11, u)
			if c.Status != "fulfilled" || !sameAmount(c.Outstanding.Value, "0") || !sameAmount(c.Fulfilled.Value, "100") || len(c.Fulfillments) != 10 {
				t.Fatalf("as %s sees it: %s, fulfilled %s, outstanding %s, %d fulfilments", u, c.Status, c.Fulfilled.Value, c.Outstanding.Value, len(c.Fulfillments))
			}
		}
	})

	t.Run("alerts are raised once, not once per instance", func(t *testing.T) {
		api := api.on(t)
		// Ten overdue promises, by both instances at once: each instance's
		// engine judges every one of them, after its event and every 250 ms.
		var ids [10]string
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i] = api.make(api.urls[i%2], "2020-12-31", "300") })
		}
		wg.Wait()
		// Each is overdue more than 90 days: overdue and escalated.
		want := map[string]bool{}
		for _, id := range ids {
			if id == "" {
				t.FailNow()
			}
			want[id+" overdue"], want[id+" escalated"] = true, true
		}
		for _, u := range api.urls {
			pollUntil(t, "the alerts on "+u, func() bool {
				seen := 0
				for _, rule := range []string{"overdue", "escalated"} {
					var page struct {
						Alerts []alerts.Alert `json:"alerts"`
					}
					api.get(u+"/api/v1/alerts?state=open&rule="+rule, &page)
					for _, a := range page.Alerts {
						if want[a.CommitmentID+" "+string(a.Rule)] {
							seen++
						}
					}
				}
				return seen == len(want)
			})
		}
		time.Sleep(time.Second) // four more rounds of both engines over them
		raised := map[string]int{}
		for _, a := range readAlerts(t, cl.URLs(jsstore.AuditorUser+":"+auditorPW)) {
			if a.State == alerts.Raised && want[a.CommitmentID+" "+string(a.Rule)] {
				raised[a.CommitmentID+" "+string(a.Rule)]++
			}
		}
		for k := range want {
			if raised[k] != 1 {
				t.Errorf("alert %s raised %d times in %s, want once", k, raised[k], jsstore.AlertStream)
			}
		}
	})

	t.Run("seals cover each event exactly once", func(t *testing.T) {
		// Both sealers seal every event within a second; the last test's
		// writes gave them something to race for.
		waitSealed(t, cl.URLs(jsstore.AuditorUser+":"+auditorPW))
	})

	t.Run("the stream leader stops under write load", func(t *testing.T) {
		api := api.on(t)
		var ids [4]string
		for i := range ids {
			ids[i] = api.make(api.urls[i%2], "2030-12-31", "1000000")
		}
		for _, id := range ids {
			api.waitVersion(id, 1)
		}
		load := startLoad(api, ids[:])
		load.waitAcked(t, 20)
		leader := cl.WaitStreamLeader(clusterAccount, jsstore.DefaultStream)
		before := load.acked.Load()
		stoppedAt := time.Now()
		cl.Stop(leader)
		newLeader := cl.WaitStreamLeader(clusterAccount, jsstore.DefaultStream)
		elected := time.Since(stoppedAt)
		load.waitAcked(t, load.acked.Load()+20) // writes go on after the election
		acks := load.stop()
		t.Logf("stopped %s, the leader of %s, after %d acknowledged writes; %s leads since %s; %d writes acknowledged, %d attempts failed (%s), the longest write took %s",
			leader.Name, jsstore.DefaultStream, before, newLeader.Name, elected.Round(time.Millisecond), len(acks), load.failed.Load(), load.failures(), load.longest())

		// What failed meanwhile said to come back: 503 with Retry-After,
		// never an internal error.
		for what := range load.failedBy {
			if !strings.HasPrefix(what, "503 ") {
				t.Errorf("during the election a write was answered %s, want 503", what)
			}
		}

		// Every acknowledged fulfilment is in the stream exactly once, as
		// each instance reads it; no retried request was stored twice.
		for _, u := range api.urls {
			checkStored(t, api, u, ids[:], acks)
		}

		cl.Restart(leader)
		// Its replica catches up with every message, numbered as the leader's.
		cl.WaitStreamCurrent(leader, clusterAccount, jsstore.DefaultStream)
		var got, want server.StreamState
		pollUntil(t, "the restarted node's replica to hold what the leader's does", func() bool {
			want = cl.StreamState(cl.WaitStreamLeader(clusterAccount, jsstore.DefaultStream), clusterAccount, jsstore.DefaultStream)
			got = cl.StreamState(leader, clusterAccount, jsstore.DefaultStream)
			return got.LastSeq == want.LastSeq && got.Msgs == want.Msgs && got.FirstSeq == want.FirstSeq
		})
		if got.NumDeleted != 0 || got.Msgs != got.LastSeq {
			t.Fatalf("the restarted node holds %d messages up to %d, %d deleted", got.Msgs, got.LastSeq, got.NumDeleted)
		}
		for _, u := range api.urls {
			if status, b, err := request("GET", u+"/readyz", "", ""); err != nil || status != 200 {
				t.Fatalf("%s after the failover: %d %s %v", u, status, b, err)
			}
		}
		// A write goes through both instances once the node is back.
		for _, u := range api.urls {
			if status, b, err := request("POST", u+"/api/v1/commitments/"+ids[0]+"/fulfillments", token,
				`{"quantity": {"value": "1", "unit": "mu"}, "fulfilled_on": "2024-01-01", "evidence": "节点恢复后"}`); err != nil || status != 201 {
				t.Fatalf("a write through %s after the node came back: %d %s %v", u, status, b, err)
			}
		}
	})

	t.Run("after the failover, seals still cover each event exactly once", func(t *testing.T) {
		waitSealed(t, cl.URLs(jsstore.AuditorUser+":"+auditorPW))
	})

	// Both stop; each seals what is left at shutdown, and one of them finds
	// the other's seal first. The auditor verifies the whole ledger from
	// the mirror with nothing but the public key.
	stopped = true
	if err := stopA(); err != nil {
		t.Error(err)
	}
	if err := stopB(); err != nil {
		t.Error(err)
	}
	pub, err := ledgerCmd(t, "audit", "pubkey", "--seal-key", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	verified, err := ledgerCmd(t, "audit", "verify", "--nats-url", cl.URLs(jsstore.AuditorUser+":"+auditorPW), "--stream", jsstore.AuditMirror, "--pubkey", strings.TrimSpace(pub))
	if err != nil || !strings.Contains(verified, "ok: every event") {
		t.Fatalf("the auditor's verification of the mirror: %v\n%s", err, verified)
	}
	if complete, problems := checkSeals(t, cl.URLs(jsstore.AuditorUser+":"+auditorPW)); !complete || len(problems) > 0 {
		t.Errorf("after both stopped, the last message is a seal over every event: %v; %s", complete, strings.Join(problems, "; "))
	}
}

// readmeAccounts is the accounts block of the README's cluster
// configuration, as a deployer copies it.
func readmeAccounts(t testing.TB) string { return accountsBlock(t, "../../README.md") }

// accountsBlock is the NATS accounts block of a Markdown file: from a line
// "accounts {" to the end of its code block.
func accountsBlock(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\naccounts {\n")
	if start < 0 {
		t.Fatalf("%s has no accounts block", file)
	}
	end := strings.Index(text[start:], "\n```")
	if end < 0 {
		t.Fatalf("the accounts block of %s does not end", file)
	}
	return text[start+1 : start+end]
}

// The deployment guide gives the README's configuration, which the
// cluster test runs.
func TestDeployDoc_AccountsAreTheREADMEs(t *testing.T) {
	if got, want := accountsBlock(t, "../../docs/deploy.md"), readmeAccounts(t); got != want {
		t.Fatalf("docs/deploy.md's accounts block differs from the README's:\n%s\n\nREADME:\n%s", got, want)
	}
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// clusterWait bounds every wait of the cluster test on the ledgers.
const clusterWait = 30 * time.Second

func pollUntil(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(clusterWait); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", clusterWait, what)
		}
	}
}

// request sends one API request with a bearer token; headers are given as
// name, value pairs.
func request(method, url, token, body string, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func errorCode(b []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

func sameAmount(a, b string) bool {
	x, okx := new(big.Rat).SetString(a)
	y, oky := new(big.Rat).SetString(b)
	return okx && oky && x.Cmp(y) == 0
}

// streamReplicas is a stream's replica count, as the ledger's NATS user sees it.
func streamReplicas(t testing.TB, url, stream string) int {
	t.Helper()
	_, st := openStream(t, url, stream)
	return st.CachedInfo().Config.Replicas
}

// openStream connects to url (closed when the test ends) and looks up a
// stream, with its info as the stream's leader gave it.
func openStream(t testing.TB, url, stream string, opts ...nats.Option) (*nats.Conn, jetstream.Stream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream info of %s: %v", stream, err)
	}
	return nc, st
}

// clusterAPI is the ledger's API through both instances, as one supervisor.
type clusterAPI struct {
	t     testing.TB
	urls  []string
	token string
}

func (a clusterAPI) on(t testing.TB) clusterAPI { a.t = t; return a }

type commitmentJSON struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Version  int    `json:"version"`
	Quantity struct {
		Value string `json:"value"`
	} `json:"quantity"`
	Fulfilled struct {
		Value string `json:"value"`
	} `json:"fulfilled"`
	Outstanding struct {
		Value string `json:"value"`
	} `json:"outstanding"`
	Fulfillments []struct {
		ID       string `json:"id"`
		Evidence string `json:"evidence"`
	} `json:"fulfillments"`
}

// make records a promise of mu of land through the instance at url, and
// returns its id.
func (a clusterAPI) make(url, due, mu string) string {
	a.t.Helper()
	status, b, err := request("POST", url+"/api/v1/commitments", a.token, fmt.Sprintf(`{
		"county": "532301", "department": "楚雄市自然资源局", "project": "集群测试项目",
		"investor": {"name": "楚雄某某硅材料有限公司", "credit_code": "91350100M000100Y43"},
		"kind": "land", "description": "保障项目用地", "quantity": {"value": %q, "unit": "mu"},
		"made_on": "2020-03-15", "due": %q, "reference": "楚投促协〔2020〕17号"}`, mu, due))
	if err != nil || status != 201 {
		a.t.Errorf("make through %s: %d %s %v", url, status, b, err)
		return ""
	}
	var c commitmentJSON
	if err := json.Unmarshal(b, &c); err != nil {
		a.t.Error(err)
	}
	return c.ID
}

func (a clusterAPI) get(url string, v any) {
	a.t.Helper()
	status, b, err := request("GET", url, a.token, "")
	if err != nil || status != 200 {
		a.t.Fatalf("GET %s: %d %s %v", url, status, b, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		a.t.Fatalf("GET %s: %v", url, err)
	}
}

// waitVersion waits until the instances at urls (default: both) show the
// commitment at version (or later), and returns how the last one shows it.
func (a clusterAPI) waitVersion(id string, version int, urls ...string) commitmentJSON {
	a.t.Helper()
	if len(urls) == 0 {
		urls = a.urls
	}
	var c commitmentJSON
	for _, u := range urls {
		pollUntil(a.t, fmt.Sprintf("commitment %s at version %d on %s", id, version, u), func() bool {
			status, b, err := request("GET", u+"/api/v1/commitments/"+id, a.token, "")
			return err == nil && status == 200 && json.Unmarshal(b, &c) == nil && c.Version >= version
		})
	}
	return c
}

// ack is a fulfilment the API acknowledged: its request's key, and the
// event that recorded it, as the answer named it.
type ack struct {
	commitment, key, event string
}

// load is writers that record fulfilments of 1 mu through both instances
// until stopped, each retrying a failed request with the same
// Idempotency-Key until it is acknowledged.
type load struct {
	api      clusterAPI
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	acked    atomic.Int64
	failed   atomic.Int64
	mu       sync.Mutex
	acks     []ack
	failedBy map[string]int // status and code (or transport error) of failed attempts
	slowest  time.Duration
}

func startLoad(api clusterAPI, ids []string) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{api: api, cancel: cancel, failedBy: map[string]int{}}
	for w := range 8 {
		l.wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				l.write(ctx, ids[w%len(ids)], fmt.Sprintf("load-%d-%d", w, n), w+n)
			}
		})
	}
	return l
}

// write sends one fulfilment, alternating instances, until it is
// acknowledged; once the load stops it gives up only on a request that
// never reached an instance.
func (l *load) write(ctx context.Context, id, key string, turn int) {
	body := fmt.Sprintf(`{"quantity": {"value": "1", "unit": "mu"}, "fulfilled_on": "2024-01-01", "evidence": %q}`, key)
	start := time.Now()
	for attempt := 0; ; attempt++ {
		url := l.api.urls[(turn+attempt)%2]
		status, b, err := request("POST", url+"/api/v1/commitments/"+id+"/fulfillments", l.api.token, body, "Idempotency-Key", key)
		if err == nil && status == 201 {
			var c commitmentJSON
			if err := json.Unmarshal(b, &c); err != nil {
				l.api.t.Error(err)
				return
			}
			a := ack{commitment: id, key: key}
			for _, f := range c.Fulfillments {
				if f.Evidence == key {
					a.event = f.ID
				}
			}
			l.mu.Lock()
			l.acks = append(l.acks, a)
			l.slowest = max(l.slowest, time.Since(start))
			l.mu.Unlock()
			l.acked.Add(1)
			return
		}
		what := fmt.Sprintf("%d %s", status, errorCode(b))
		if err != nil {
			what = "no answer"
		}
		l.failed.Add(1)
		l.mu.Lock()
		l.failedBy[what]++
		l.mu.Unlock()
		if ctx.Err() != nil && attempt > 50 {
			return // still unanswered long after the load stopped: the check will say
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (l *load) waitAcked(t testing.TB, n int64) {
	t.Helper()
	pollUntil(t, fmt.Sprintf("%d acknowledged writes", n), func() bool { return l.acked.Load() >= n })
}

// stop ends the load, lets every write in flight finish, and returns the
// acknowledged ones.
func (l *load) stop() []ack {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

func (l *load) failures() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.failedBy)
}

func (l *load) longest() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.slowest.Round(time.Millisecond)
}

// checkStored checks, on the instance at url, that every acknowledged
// fulfilment is in its commitment's history exactly once, under the event
// id its answer named, and that no idempotency key was stored twice.
func checkStored(t *testing.T, api clusterAPI, url string, ids []string, acks []ack) {
	t.Helper()
	api = api.on(t)
	byKey := map[string]int{}
	eventOf := map[string]string{}
	for _, id := range ids {
		var h struct {
			Events []struct {
				ID             string `json:"id"`
				Type           string `json:"type"`
				IdempotencyKey string `json:"idempotency_key"`
			} `json:"events"`
		}
		api.get(url+"/api/v1/commitments/"+id+"/history", &h)
		for _, e := range h.Events {
			if e.IdempotencyKey != "" {
				byKey[e.IdempotencyKey]++
				eventOf[e.IdempotencyKey] = e.ID
			}
		}
	}
	for k, n := range byKey {
		if n != 1 {
			t.Errorf("on %s: idempotency key %s is stored %d times", url, k, n)
		}
	}
	for _, a := range acks {
		switch {
		case byKey[a.key] == 0:
			t.Errorf("on %s: acknowledged fulfilment %s (event %s) is not in the stream", url, a.key, a.event)
		case eventOf[a.key] != a.event:
			t.Errorf("on %s: fulfilment %s was acknowledged as event %s but is stored as %s", url, a.key, a.event, eventOf[a.key])
		}
	}
	if len(byKey) < len(acks) {
		t.Errorf("on %s: %d acknowledged, %d stored", url, len(acks), len(byKey))
	}
}

// storedMsg is one message of a stream, as the auditor reads it.
type storedMsg struct {
	Subject  string `json:"subject"`
	Sequence uint64 `json:"seq"`
	Data     []byte `json:"data"`
}

// readAll reads every message of a stream one at a time, connected as the
// README's read-only auditor (stream info and message gets). It asks the
// stream's leader ($JS.API.STREAM.MSG.GET), not the direct get that any
// replica may answer, which a replica behind the leader answers "not
// found" for a message it has not stored yet.
func readAll(t testing.TB, url, stream string) []storedMsg {
	t.Helper()
	nc, st := openStream(t, url, stream, nats.CustomInboxPrefix(jsstore.AuditorInboxPrefix))
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	info := st.CachedInfo()
	var msgs []storedMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		res, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, fmt.Appendf(nil, `{"seq":%d}`, seq))
		if err != nil {
			t.Fatalf("the auditor's read of %s at %d: %v", stream, seq, err)
		}
		var r struct {
			Message *storedMsg          `json:"message"`
			Error   *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(res.Data, &r); err != nil || r.Error != nil || r.Message == nil {
			t.Fatalf("the auditor's read of %s at %d: %v %v %s", stream, seq, err, r.Error, res.Data)
		}
		msgs = append(msgs, *r.Message)
	}
	return msgs
}

func readAlerts(t testing.TB, url string) []alerts.Alert {
	t.Helper()
	var out []alerts.Alert
	seen := map[string]uint64{}
	for _, m := range readAll(t, url, jsstore.AlertStream) {
		var a alerts.Alert
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatalf("%s at %d: %v", jsstore.AlertStream, m.Sequence, err)
		}
		if at, twice := seen[a.ID+" "+string(a.State)]; twice {
			t.Errorf("alert %s %s is in %s twice, at %d and %d", a.ID, a.State, jsstore.AlertStream, at, m.Sequence)
		}
		seen[a.ID+" "+string(a.State)] = m.Sequence
		out = append(out, a)
	}
	return out
}

// waitSealed waits until a seal covers every event, and checks every seal.
func waitSealed(t testing.TB, url string) {
	t.Helper()
	var problems []string
	pollUntil(t, "a seal over every event", func() bool {
		var complete bool
		complete, problems = checkSeals(t, url)
		return complete || len(problems) > 0
	})
	for _, p := range problems {
		t.Error(p)
	}
}

// checkSeals reads the ledger's stream as the auditor and checks that each
// seal covers exactly the events before it and more than the seal before it:
// no two seals of the same range, however many instances seal. complete
// says whether the last message is a seal over every event.
func checkSeals(t testing.TB, url string) (complete bool, problems []string) {
	t.Helper()
	var events, sealed uint64
	last := "nothing"
	for _, m := range readAll(t, url, jsstore.DefaultStream) {
		if m.Subject != jsstore.DefaultSubject+audit.SealSubjectSuffix {
			events++
			last = "event"
			continue
		}
		var s audit.Seal
		if err := json.Unmarshal(m.Data, &s); err != nil {
			t.Fatalf("seal at %d: %v", m.Sequence, err)
		}
		if s.Type != audit.SealType {
			continue // a key rotation
		}
		switch {
		case s.Events != events:
			problems = append(problems, fmt.Sprintf("the seal at %d covers %d events, but %d precede it", m.Sequence, s.Events, events))
		case s.Events == sealed:
			problems = append(problems, fmt.Sprintf("the seal at %d covers the same %d events as the seal before it", m.Sequence, s.Events))
		}
		sealed, last = s.Events, "seal"
	}
	return last == "seal", problems
}
