package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"promiseledger/events"
)

// Webhook is a receiver of alerts, optionally only some counties' or rules'.
type Webhook struct {
	URL      string
	Counties []string
	Rules    []Rule
}

// ParseWebhook reads "URL [county=C1,C2] [rule=R1,R2]".
func ParseWebhook(spec string) (Webhook, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return Webhook{}, fmt.Errorf("webhook: a URL is required")
	}
	u, err := url.Parse(fields[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Webhook{}, fmt.Errorf("webhook %q: must be an http or https URL", fields[0])
	}
	w := Webhook{URL: fields[0]}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case ok && k == "county":
			w.Counties = strings.Split(v, ",")
		case ok && k == "rule":
			for _, r := range strings.Split(v, ",") {
				if !Rule(r).Valid() {
					return Webhook{}, fmt.Errorf("webhook %s: rule %q: must be %s", w.URL, r, events.OneOf(Rules))
				}
				w.Rules = append(w.Rules, Rule(r))
			}
		default:
			return Webhook{}, fmt.Errorf("webhook %s: %q: expected county=… or rule=…", w.URL, f)
		}
	}
	return w, nil
}

// Redacted is the webhook's URL without its query and user information,
// which often hold an access token: fit for logs and consumer descriptions.
func (w Webhook) Redacted() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return "webhook"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Headers of a webhook request.
const (
	HeaderSignature = "X-Ledger-Signature" // "sha256=" + hex HMAC-SHA256 of timestamp + "." + body
	HeaderTimestamp = "X-Ledger-Timestamp" // Unix seconds when the request was signed
	HeaderAlertID   = "X-Ledger-Alert-Id"  // the alert's id; with the body's state, the de-duplication key
)

// Sign is the signature of a webhook body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request's signature, for receivers (and tests).
func Verify(secret []byte, ts string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// Sender posts signed alerts.
type Sender struct {
	Client *http.Client
	Secret []byte
	Now    func() time.Time
}

// Send posts one alert; any answer but 2xx is an error, to be retried.
func (s Sender) Send(ctx context.Context, to string, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(s.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(s.Secret, ts, body))
	req.Header.Set(HeaderAlertID, a.ID)
	name := Webhook{URL: to}.Redacted()
	res, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %s", name, redactErr(err, to, name))
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: answered %s", name, res.Status)
	}
	return nil
}

// Backoff doubles from base with each attempt, up to max.
func Backoff(base, max time.Duration) func(attempt uint64) time.Duration {
	return func(attempt uint64) time.Duration {
		d := base
		for i := uint64(1); i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// redactErr removes the full URL from an error's text (net/http puts it there).
func redactErr(err error, full, redacted string) string {
	return strings.ReplaceAll(err.Error(), full, redacted)
}
