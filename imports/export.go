package imports

import (
	"math/big"
	"strconv"
	"strings"

	"promiseledger/events"
	"promiseledger/internal/sheet"
)

// The words of a ledger workbook, Chinese first: kinds, units and statuses
// as clerks write them.
var (
	kindZh = map[events.Kind]string{
		events.Land: "土地", events.Tax: "税收", events.Subsidy: "补贴", events.Fee: "费用",
		events.Infrastructure: "基础设施", events.Financing: "融资", events.Other: "其他",
	}
	unitZh   = map[events.Unit]string{events.CNY: "元", events.Mu: "亩", events.M2: "平方米", events.Item: "项"}
	statusZh = map[events.Status]string{
		events.Open: "未兑现", events.PartiallyFulfilled: "部分兑现", events.Fulfilled: "全部兑现",
		events.Waived: "经批准免予兑现", events.Cancelled: "投资方未达条件已取消", events.Void: "误录已作废",
	}
)

// extra are the columns an export adds after the template's: what the
// ledger knows of each commitment. None of their headers is a header the
// import reads, so an exported file imports back as it is.
var extra = []struct {
	zh, en string
	kind   sheet.Kind
}{
	{"折合万元", "amount_10k_cny", sheet.Number},
	{"原定期限", "original_due", sheet.Date},
	{"状态", "status", sheet.Text},
	{"未兑现", "outstanding", sheet.Number},
	{"未兑现折合万元", "outstanding_10k_cny", sheet.Number},
	{"逾期天数", "days_overdue", sheet.Int},
	{"承诺编号", "commitment_id", sheet.Text},
}

// columnKind is how a template column is written.
func columnKind(c Column) sheet.Kind {
	switch c {
	case ColAmount, ColFulfilled:
		return sheet.Number
	case ColMadeOn, ColDue, ColFulfilledOn:
		return sheet.Date
	}
	return sheet.Text
}

// Export is the ledger's commitments as a workbook of the template's shape
// (so that it imports back cleanly) plus what the ledger knows: 万元 beside
// every amount in 元, the original due date, status, outstanding and days
// overdue on date today. lang "en" writes English headers and the domain's
// words; anything else, Chinese.
func Export(cs []*events.Commitment, j *events.Jurisdiction, today events.Date, lang string) sheet.Table {
	en := lang == "en"
	t := sheet.Table{Sheet: "承诺台账"}
	if en {
		t.Sheet = "commitments"
	}
	for _, c := range Columns {
		h := c.Headers[0]
		if en {
			h = c.Headers[len(c.Headers)-1]
		}
		t.Columns = append(t.Columns, sheet.Column{Header: h, Kind: columnKind(c.Column)})
	}
	for _, x := range extra {
		h := x.zh
		if en {
			h = x.en
		}
		t.Columns = append(t.Columns, sheet.Column{Header: h, Kind: x.kind})
	}
	word := func(zh map[string]string, v string) string {
		if w, ok := zh[v]; ok && !en {
			return w
		}
		return v
	}
	kinds, units, statuses := stringKeys(kindZh), stringKeys(unitZh), stringKeys(statusZh)
	for _, c := range cs {
		county, _ := j.County(c.County)
		unit := c.Quantity.Unit
		fulfilled, fulfilledOn := "", ""
		if c.Fulfilled.Sign() > 0 {
			fulfilled = c.Fulfilled.String()
			for _, f := range c.Fulfillments {
				if !f.Reversed && f.FulfilledOn.String() > fulfilledOn {
					fulfilledOn = f.FulfilledOn.String()
				}
			}
		}
		out := c.Outstanding()
		cells := map[Column]string{
			ColCounty: county.Name, ColDepartment: c.Department, ColProject: c.Project,
			ColInvestor: c.Investor.Name, ColCreditCode: c.Investor.CreditCode,
			ColKind: word(kinds, string(c.Kind)), ColDescription: c.Description,
			ColAmount: c.Quantity.Value.String(), ColUnit: word(units, string(unit)),
			ColMadeOn: c.MadeOn.String(), ColDue: c.Due.String(), ColReference: c.Reference,
			ColFulfilled: fulfilled, ColFulfilledOn: fulfilledOn,
		}
		row := make([]string, 0, len(t.Columns))
		for _, col := range Columns {
			row = append(row, cells[col.Column])
		}
		days := ""
		if d := c.DaysOverdue(today); d > 0 {
			days = strconv.Itoa(d)
		}
		row = append(row, wan(c.Quantity.Value.String(), unit), c.OriginalDue.String(), word(statuses, string(c.Status())),
			out.Value.String(), wan(out.Value.String(), unit), days, c.ID)
		t.Rows = append(t.Rows, row)
	}
	return t
}

// wan is an amount in 元 as 万元, exactly ("1255000.00" is "125.5"); ""
// for any other unit.
func wan(value string, unit events.Unit) string {
	r, ok := new(big.Rat).SetString(value)
	if unit != events.CNY || !ok {
		return ""
	}
	decimals := 4
	if i := strings.IndexByte(value, '.'); i >= 0 {
		decimals += len(value) - i - 1
	}
	s := r.Quo(r, big.NewRat(10_000, 1)).FloatString(decimals)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// stringKeys turns a map of typed words into one keyed by their text.
func stringKeys[K ~string](m map[K]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// ExportName is the file name of an export: the county's name (or 全部 for
// all) and the date, in Chinese; fallback is its ASCII form.
func ExportName(j *events.Jurisdiction, county string, today events.Date, ext string) (name, fallback string) {
	who, code := "全部县市区", "all"
	if c, ok := j.County(county); ok {
		who, code = c.Name, c.Code
	}
	return "承诺台账-" + who + "-" + today.String() + "." + ext, "commitments-" + code + "-" + today.String() + "." + ext
}
