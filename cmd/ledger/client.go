package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"promiseledger/alerts"
	"promiseledger/events"
)

// clientFlags say which running ledger to ask, and as whom.
type clientFlags struct {
	url   string
	token string
}

func (c *clientFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.url, "url", orDefault(getenv("LEDGER_URL"), "http://127.0.0.1:8080"), "the ledger's HTTP address (env LEDGER_URL)")
	fs.StringVar(&c.token, "token", getenv("LEDGER_TOKEN"), "bearer token (env LEDGER_TOKEN)")
}

// query holds the parameters that were given (empty ones are left out).
func query(params map[string]string) url.Values {
	q := url.Values{}
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// get asks the ledger; an error answer becomes an error with its message.
func (c clientFlags) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	if c.token == "" {
		return nil, errors.New("--token (or LEDGER_TOKEN) is required")
	}
	u := strings.TrimRight(c.url, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&e)
		return nil, fmt.Errorf("%s: %s %s", res.Status, e.Error.Code, e.Error.Message)
	}
	return res, nil
}

var ruleNames = map[alerts.Rule]string{
	alerts.DueSoon: "即将到期 due soon", alerts.Overdue: "逾期 overdue",
	alerts.Escalated: "升级督办 escalated", alerts.DisputeStale: "投诉久拖 dispute stale",
	alerts.OrderUnacknowledged: "督办未签收 order not signed for",
}

// alertLine is one alert for a terminal.
func alertLine(a alerts.Alert) string {
	state := "发出 raised"
	if a.State == alerts.Resolved {
		state = "解除 resolved: " + a.Reason
	}
	late := ""
	if a.DaysOverdue > 0 {
		late = fmt.Sprintf("  逾期%d天", a.DaysOverdue)
	}
	return fmt.Sprintf("%s  %-22s %s %s  %s  %s  兑现期限 %s%s  未兑现 %s %s  [%s]",
		a.On, ruleNames[a.Rule], a.CountyName, a.County, a.Project, a.Department, a.Due, late, a.Outstanding, a.Outstanding.Unit, state)
}

// alertsCmd prints alerts, and with --follow keeps printing them as they come.
func alertsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c clientFlags
	var county, rule, state string
	var follow bool
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs, getenv)
	fs.StringVar(&county, "county", "", "only this county")
	fs.StringVar(&rule, "rule", "", "only this rule: "+events.OneOf(alerts.Rules))
	fs.StringVar(&state, "state", "open", "open (the same as raised) or "+events.OneOf(alerts.States)+" (without --follow)")
	fs.BoolVar(&follow, "follow", false, "print every alert message since the first, then new ones as they come")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if !follow {
		res, err := c.get(ctx, "/api/v1/alerts", query(map[string]string{"county": county, "rule": rule, "state": state}))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var body struct{ Alerts []alerts.Alert }
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			return err
		}
		for _, a := range body.Alerts {
			fmt.Fprintln(stdout, alertLine(a))
		}
		return nil
	}
	res, err := c.get(ctx, "/api/v1/alerts/stream", query(map[string]string{"county": county, "rule": rule}))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var a alerts.Alert
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return err
		}
		fmt.Fprintln(stdout, alertLine(a))
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// reportCmd prints the overdue bulletin.
func reportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "overdue" {
		return errors.New(`report: the report's name is required: "ledger report overdue [--as-of DATE] [--on DATE] [--format md|csv|xlsx|json] [--lang zh|en] [--out FILE]"`)
	}
	var c clientFlags
	var asOf, on, format, lang, out string
	fs := flag.NewFlagSet("report overdue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs, getenv)
	fs.StringVar(&asOf, "as-of", "", "the date of the bulletin, YYYY-MM-DD (default: now)")
	fs.StringVar(&on, "on", "", "the facts as they stood on this date, YYYY-MM-DD, by their own dates (migrated promises included)")
	fs.StringVar(&format, "format", "md", "md, csv, xlsx or json")
	fs.StringVar(&lang, "lang", "zh", "zh or en")
	fs.StringVar(&out, "out", "", "write to this file (default: standard output)")
	if help, err := parseFlags(fs, args[1:]); help || err != nil {
		return err
	}
	res, err := c.get(ctx, "/api/v1/reports/overdue", query(map[string]string{"format": format, "lang": lang, "as_of": asOf, "on": on}))
	if err != nil {
		return err
	}
	return save(res, out, format, stdout, stderr)
}
