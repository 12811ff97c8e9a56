package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"promiseledger/events"
	"promiseledger/internal/sheet"
	"promiseledger/projections"
)

// bulletin words, Chinese first.
var bulletin = map[string]map[string]string{
	"zh": {
		"title": "招商引资承诺逾期未兑现情况通报", "asof": "截至 %s", "summary": "共 %d 个县市区、%d 项承诺逾期未兑现。",
		"county": "## %s（%s）：逾期 %d 项", "none": "无逾期未兑现承诺。", "owed": "未兑现合计：%s",
		"cols":  "序号|逾期天数|项目|承诺事项|责任单位|投资企业|未兑现|兑现期限|督办",
		"order": "%s（%s）", "issued": "已交办未签收", "acknowledged": "已签收", "closure_requested": "已申请销号", "returned": "已退回",
		"csv":   "县市区代码,县市区,逾期天数,项目,承诺事项,责任单位,投资企业,统一社会信用代码,未兑现,单位,兑现期限,承诺编号",
		"sheet": "逾期未兑现", "file": "逾期未兑现承诺通报-%s.%s",
		"CNY": "元", "mu": "亩", "m2": "平方米", "item": "项",
	},
	"en": {
		"title": "Bulletin of overdue incentive commitments", "asof": "As of %s", "summary": "%d counties, %d commitments overdue.",
		"county": "## %s (%s): %d overdue", "none": "No overdue commitments.", "owed": "Outstanding in all: %s",
		"cols":  "No.|Days overdue|Project|Commitment|Department|Investor|Outstanding|Due|Supervision orders",
		"order": "%s (%s)", "issued": "issued, not signed for", "acknowledged": "signed for", "closure_requested": "closure asked", "returned": "returned",
		"csv":   "county_code,county,days_overdue,project,commitment,department,investor,credit_code,outstanding,unit,due,commitment_id",
		"sheet": "overdue", "file": "overdue-bulletin-%s.%s",
		"CNY": "CNY", "mu": "mu", "m2": "m²", "item": "item(s)",
	},
}

func (s *Server) handleOverdueReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lang := q.Get("lang")
		if lang == "" {
			lang = "zh"
		}
		words, ok := bulletin[lang]
		if !ok {
			writeError(w, badRequest("validation_failed", "lang", "lang: must be zh or en"))
			return
		}
		format := q.Get("format")
		if format != "" && format != "json" && format != "md" && format != "csv" && format != "xlsx" {
			writeError(w, badRequest("validation_failed", "format", "format: must be json, md, csv or xlsx"))
			return
		}
		m, err := s.asOf(r)
		if err != nil {
			writeError(w, err)
			return
		}
		view, err := s.view(r, m)
		if err != nil {
			writeError(w, err)
			return
		}
		j := s.jurisdiction(r)
		today := m.today(j)
		counties := view.Overdue(j, today)
		switch format {
		case "md":
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			_, _ = w.Write([]byte(renderMarkdown(counties, today, words)))
		case "csv", "xlsx":
			kinds := []sheet.Kind{sheet.Text, sheet.Text, sheet.Int, sheet.Text, sheet.Text, sheet.Text, sheet.Text, sheet.Text, sheet.Number, sheet.Text, sheet.Date, sheet.Text}
			t := sheet.Table{Sheet: words["sheet"]}
			for i, h := range strings.Split(words["csv"], ",") {
				t.Columns = append(t.Columns, sheet.Column{Header: h, Kind: kinds[i]})
			}
			for _, c := range counties {
				for _, v := range c.Commitments {
					t.Rows = append(t.Rows, []string{c.Code, c.Name, strconv.Itoa(v.DaysOverdue), v.Project, v.Description, v.Department,
						v.Investor.Name, v.Investor.CreditCode, v.Outstanding.Value.String(), words[string(v.Outstanding.Unit)], v.Due.String(), v.ID})
				}
			}
			writeSheet(w, t, format, fmt.Sprintf(words["file"], today, format), fmt.Sprintf("overdue-bulletin-%s.%s", today, format))
		default:
			encode(w, http.StatusOK, map[string]any{"as_of": m.at.UTC().Format(time.RFC3339), "date": today, "counties": counties})
		}
	})
}

func renderMarkdown(counties []projections.OverdueCounty, today events.Date, words map[string]string) string {
	var b strings.Builder
	total, with := 0, 0
	for _, c := range counties {
		total += len(c.Commitments)
		if len(c.Commitments) > 0 {
			with++
		}
	}
	fmt.Fprintf(&b, "# %s\n\n%s\n\n%s\n", words["title"], fmt.Sprintf(words["asof"], today), fmt.Sprintf(words["summary"], with, total))
	cols := strings.Split(words["cols"], "|")
	for _, c := range counties {
		fmt.Fprintf(&b, "\n"+words["county"]+"\n\n", c.Name, c.Code, len(c.Commitments))
		if len(c.Commitments) == 0 {
			fmt.Fprintf(&b, "%s\n", words["none"])
			continue
		}
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		for i, v := range c.Commitments {
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s %s | %s | %s |\n", i+1, v.DaysOverdue, cell(v.Project), cell(v.Description),
				cell(v.Department), cell(v.Investor.Name), v.Outstanding, words[string(v.Outstanding.Unit)], v.Due, openOrders(v, words))
		}
		var owed []string
		for _, q := range c.Outstanding {
			owed = append(owed, q.String()+" "+words[string(q.Unit)])
		}
		fmt.Fprintf(&b, "\n%s\n", fmt.Sprintf(words["owed"], strings.Join(owed, "；")))
	}
	return b.String()
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}

// openOrders lists a commitment's open supervision orders (督办) and where
// each stands, for the bulletin: "-" when there are none.
func openOrders(v projections.CommitmentView, words map[string]string) string {
	var out []string
	for _, o := range v.SupervisionOrders {
		if o.State.Open() {
			out = append(out, fmt.Sprintf(words["order"], o.Deadline, words[string(o.State)]))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "；")
}
