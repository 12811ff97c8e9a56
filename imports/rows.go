package imports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"promiseledger/events"
)

// Column is a column of a commitment ledger (台账).
type Column string

// The columns, in the template's order.
const (
	ColCounty      Column = "county"
	ColDepartment  Column = "department"
	ColProject     Column = "project"
	ColInvestor    Column = "investor"
	ColCreditCode  Column = "credit_code"
	ColKind        Column = "kind"
	ColDescription Column = "description"
	ColAmount      Column = "amount"
	ColUnit        Column = "unit"
	ColMadeOn      Column = "made_on"
	ColDue         Column = "due"
	ColReference   Column = "reference"
	ColFulfilled   Column = "fulfilled"
	ColFulfilledOn Column = "fulfilled_on"
)

// Columns lists the columns in the template's order, each with its Chinese
// header first and the other headers clerks write for it.
var Columns = []struct {
	Column   Column
	Headers  []string
	Required bool
}{
	{ColCounty, []string{"县市区", "县（市、区）", "县市", "县区", "county"}, true},
	{ColDepartment, []string{"责任单位", "承诺单位", "责任部门", "department"}, true},
	{ColProject, []string{"项目名称", "项目", "project"}, true},
	{ColInvestor, []string{"投资企业", "企业名称", "投资方", "investor"}, true},
	{ColCreditCode, []string{"统一社会信用代码", "信用代码", "credit_code"}, false},
	{ColKind, []string{"承诺类型", "类型", "政策类型", "kind"}, true},
	{ColDescription, []string{"承诺事项", "承诺内容", "优惠政策内容", "description"}, true},
	{ColAmount, []string{"承诺数量", "承诺金额", "数量", "金额", "amount", "quantity"}, true},
	{ColUnit, []string{"单位", "计量单位", "unit"}, false},
	{ColMadeOn, []string{"承诺日期", "签约日期", "协议签订日期", "made_on"}, true},
	{ColDue, []string{"兑现期限", "承诺兑现期限", "期限", "due"}, true},
	{ColReference, []string{"协议文号", "依据", "文件依据", "reference"}, false},
	{ColFulfilled, []string{"已兑现", "已兑现数量", "已兑现金额", "fulfilled"}, false},
	{ColFulfilledOn, []string{"兑现日期", "已兑现日期", "fulfilled_on"}, false},
}

// Problem is one thing wrong with a sheet: where (row and column as the
// sheet numbers them, and the cell, e.g. "H5"; the header's row for a
// header problem) and which rule, in Chinese, and in English in En.
type Problem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"` // the header as the sheet writes it
	Cell   string `json:"cell,omitempty"`   // where the value is, as a spreadsheet names it
	Value  string `json:"value,omitempty"`
	Rule   string `json:"rule"`
	En     string `json:"-"` // the rule in English
}

// Text is the problem as a line of the text report, in lang ("en", or
// Chinese).
func (p Problem) Text(lang string) string {
	if lang == "en" {
		if p.Column == "" {
			return fmt.Sprintf("row %d: %s", p.Row, p.In(lang).Rule)
		}
		return fmt.Sprintf("row %d, column %q (%s, %q): %s", p.Row, p.Column, p.Cell, p.Value, p.In(lang).Rule)
	}
	if p.Column == "" {
		return fmt.Sprintf("第%d行：%s", p.Row, p.Rule)
	}
	return fmt.Sprintf("第%d行「%s」列（%s 单元格，%q）：%s", p.Row, p.Column, p.Cell, p.Value, p.Rule)
}

// In is the problem with its rule in lang: "en" for English, else Chinese.
func (p Problem) In(lang string) Problem {
	if lang == "en" && p.En != "" {
		p.Rule = p.En
	}
	return p
}

// cellName is the spreadsheet's name of the cell at column index i (from
// 0) in row.
func cellName(i, row int) string {
	name, _ := excelize.CoordinatesToCellName(i+1, row)
	return name
}

// Header is where each column is in a sheet, and how the sheet names it.
type Header struct {
	index    map[Column]int
	name     map[Column]string
	date1904 bool   // the workbook counts its dates from 1904 (Excel for Mac's old default)
	county   string // the county of every row: a row's own, if any, must be it
}

// ForCounty is the header of a county's own ledger: a row without a county
// is of county code, and a row of another county is refused. Without a
// 县市区 column the header is then complete: problems are those of
// ReadHeader less the missing county column.
func (h Header) ForCounty(code string, problems []Problem) (Header, []Problem) {
	h.county = code
	var kept []Problem
	for _, p := range problems {
		if p.Column == "" && strings.Contains(p.En, "no column 县市区") {
			continue
		}
		kept = append(kept, p)
	}
	return h, kept
}

// Name is the column's header as the sheet writes it ("" if it has none).
func (h Header) Name(c Column) string { return h.name[c] }

// Cell is where column c is in row, as a spreadsheet names it ("" if the
// sheet has no such column).
func (h Header) Cell(c Column, row int) string {
	if i, ok := h.index[c]; ok {
		return cellName(i, row)
	}
	return ""
}

// normal drops spaces, required marks and bracketed notes from a header.
func normal(h string) string {
	h = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(h), "*＊"))
	if i := strings.IndexAny(h, "（("); i > 0 && !strings.HasPrefix(h, "县（") {
		h = h[:i]
	}
	return strings.ToLower(strings.ReplaceAll(h, " ", ""))
}

// ReadHeader finds the columns in a header row. A required column that is
// missing, or a column named twice, is a problem of row 0.
func ReadHeader(cells []string) (Header, []Problem) {
	h := Header{index: map[Column]int{}, name: map[Column]string{}}
	var problems []Problem
	spanned := -1 // a column under the amount's header, merged over it and the next
	for i, cell := range cells {
		c, ok := columnNamed(cell)
		if !ok {
			continue
		}
		if at, dup := h.index[c]; dup {
			if c == ColAmount && at == i-1 && spanned < 0 {
				spanned = i
				continue
			}
			problems = append(problems, Problem{Row: 0, Column: cell, Rule: fmt.Sprintf("与「%s」列重复", h.name[c]),
				En: fmt.Sprintf("the same column as %q", h.name[c])})
			continue
		}
		h.index[c], h.name[c] = i, strings.TrimSpace(cell)
	}
	// 承诺数量 merged over two columns is the amount and its unit.
	if _, ok := h.index[ColUnit]; !ok && spanned >= 0 {
		h.index[ColUnit], h.name[ColUnit] = spanned, h.name[ColAmount]+"（单位）"
	}
	for _, c := range Columns {
		if _, ok := h.index[c.Column]; c.Required && !ok {
			problems = append(problems, Problem{Row: 0, Rule: fmt.Sprintf("缺少「%s」列", c.Headers[0]),
				En: fmt.Sprintf("no column %s (%s)", c.Headers[0], c.Headers[len(c.Headers)-1])})
		}
	}
	return h, problems
}

// ReadTableHeader is ReadHeader of a table's header row, reading dates as
// the table's workbook counts them.
func ReadTableHeader(t Table) (Header, []Problem) {
	h, problems := ReadHeader(t.Header)
	h.date1904 = t.Date1904
	return h, problems
}

// columnNamed is the column a header names, if any.
func columnNamed(cell string) (Column, bool) {
	n := normal(cell)
	if n == "" {
		return "", false
	}
	for _, c := range Columns {
		for _, alias := range c.Headers {
			if n == normal(alias) {
				return c.Column, true
			}
		}
	}
	return "", false
}

const (
	dateRule   = "日期应写作 2020-12-31、2020/12/31、2020年12月31日 或 2020.12.31"
	dateRuleEn = "must be a date: 2020-12-31, 2020/12/31, 2020年12月31日 or 2020.12.31"
)

// Row is one imported commitment: the command that makes it, the
// fulfilment it already had (if the sheet says so), and the idempotency
// key that makes importing it again add nothing.
type Row struct {
	Number  int
	Make    events.MakeCommitment
	Fulfil  *events.RecordFulfillment
	Key     string
	Cells   map[Column]string
	problem []Problem
}

// ReadRow reads one data row (number as the sheet numbers it) and checks it
// as the ledger will: every problem is reported at its column.
func ReadRow(h Header, number int, cells []string, j *events.Jurisdiction, today events.Date) (Row, []Problem) {
	r := Row{Number: number, Cells: map[Column]string{}}
	get := func(c Column) string {
		if i, ok := h.index[c]; ok && i < len(cells) {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	for _, c := range Columns {
		r.Cells[c.Column] = get(c.Column)
	}
	fail := func(c Column, rule, en string) {
		r.problem = append(r.problem, Problem{Row: number, Column: h.name[c], Cell: h.Cell(c, number), Value: r.Cells[c], Rule: rule, En: en})
	}
	if r.Cells[ColCounty] == "" && h.county != "" {
		r.Cells[ColCounty] = h.county
	}
	county, err := ParseCounty(r.Cells[ColCounty], j)
	switch {
	case err == nil && h.county != "" && county != h.county:
		c, _ := j.County(h.county)
		fail(ColCounty, "此次只导入"+c.Name+"的承诺", "this import takes the rows of "+c.Name+" ("+h.county+") only")
	case err != nil:
		fail(ColCounty, "不是本辖区的县市区：请填写县市区名称或行政区划代码", "not a county of the jurisdiction: write its name or its code")
	}
	kind, err := ParseKind(r.Cells[ColKind])
	if err != nil {
		fail(ColKind, "承诺类型应为：土地、税收、补贴、费用、基础设施、融资或其他", "must be 土地, 税收, 补贴, 费用, 基础设施, 融资 or 其他 (or "+events.OneOf(events.Kinds)+")")
	}
	amount, err := ParseAmount(r.Cells[ColAmount], r.Cells[ColUnit])
	switch {
	case r.Cells[ColUnit] != "" && !knownUnit(r.Cells[ColUnit]):
		fail(ColUnit, "单位应为元、万元、亩、平方米或项", "must be 元, 万元, 亩, 平方米 or 项")
	case err != nil:
		fail(ColAmount, "应为数字加单位（元、万元、亩、平方米、项），如 125.5万元；千位分隔符只能每三位一个", "must be a number and a unit (元, 万元, 亩, 平方米 or 项), e.g. 125.5万元; thousands separators every three digits only")
	}
	parseDate := ParseDate
	if h.date1904 {
		parseDate = parseDate1904
	}
	madeOn, err := parseDate(r.Cells[ColMadeOn])
	if err != nil {
		fail(ColMadeOn, dateRule, dateRuleEn)
	}
	due, err := parseDate(r.Cells[ColDue])
	if err != nil {
		fail(ColDue, dateRule, dateRuleEn)
	}
	r.Make = events.MakeCommitment{
		County: county, Department: r.Cells[ColDepartment], Project: r.Cells[ColProject],
		Investor: events.InvestorInput{Name: r.Cells[ColInvestor], CreditCode: r.Cells[ColCreditCode]},
		Kind:     string(kind), Description: r.Cells[ColDescription],
		Quantity: &events.QuantityInput{Value: events.Text(amount.Value), Unit: string(amount.Unit)},
		MadeOn:   madeOn.String(), Due: due.String(), Reference: r.Cells[ColReference],
	}
	if r.Cells[ColCreditCode] == "" {
		unregistered := false
		r.Make.Investor.Registered = &unregistered
	}
	if len(r.problem) == 0 {
		// Everything the ledger checks, named at its column.
		if _, err := r.Make.Decide(j, today); err != nil {
			col, zh, en := domainProblem(err)
			fail(col, zh, en)
		}
	}
	if f := r.Cells[ColFulfilled]; f != "" && len(r.problem) == 0 {
		done, err := ParseAmount(f, r.Cells[ColUnit])
		switch {
		case err != nil:
			fail(ColFulfilled, "应为数字加单位，与承诺数量同一单位", "must be a number in the unit of the amount")
		case done.Unit != amount.Unit:
			fail(ColFulfilled, fmt.Sprintf("单位应与承诺数量相同（%s）", unitZh[amount.Unit]), fmt.Sprintf("must be in the unit of the amount (%s)", amount.Unit))
		default:
			on, err := parseDate(r.Cells[ColFulfilledOn])
			switch {
			case r.Cells[ColFulfilledOn] == "":
				fail(ColFulfilledOn, "填写已兑现数量时，须填写兑现日期", "a date is required with a fulfilled amount")
			case err != nil:
				fail(ColFulfilledOn, dateRule, dateRuleEn)
			default:
				r.Fulfil = &events.RecordFulfillment{Quantity: &events.QuantityInput{Value: events.Text(done.Value), Unit: string(done.Unit)},
					FulfilledOn: on.String(), Evidence: "台账导入：" + r.Cells[ColReference]}
				// The fulfilment as the ledger will check it, against the
				// commitment this row makes.
				if c, err := r.made(j, today); err == nil {
					if _, _, err := r.Fulfil.Decide(c, today); err != nil {
						col, zh, en := domainProblem(err)
						if col == ColAmount {
							col = ColFulfilled
						}
						fail(col, zh, en)
						r.Fulfil = nil
					}
				}
			}
		}
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{county, r.Cells[ColReference], r.Make.Project, r.Make.Investor.Name, r.Make.Kind, amount.Value, string(amount.Unit), r.Make.Due, r.Make.Description}, "\x00")))
	r.Key = "import-" + hex.EncodeToString(sum[:12])
	return r, r.problem
}

// made is the commitment the row makes, as the ledger will hold it.
func (r Row) made(j *events.Jurisdiction, today events.Date) (*events.Commitment, error) {
	data, err := r.Make.Decide(j, today)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	c := &events.Commitment{}
	err = c.Apply(events.Event{Type: events.CommitmentMadeType, Schema: events.CommitmentMadeType.Schema(), CommitmentID: "row", County: r.Make.County, EffectiveOn: data.MadeOn, Data: raw})
	return c, err
}

// columnOf is the column of a field the domain names.
func columnOf(field string) Column {
	switch {
	case strings.HasPrefix(field, "investor.credit_code"):
		return ColCreditCode
	case strings.HasPrefix(field, "investor"):
		return ColInvestor
	case strings.HasPrefix(field, "quantity"):
		return ColAmount
	case field == "fulfilled_on":
		return ColFulfilledOn
	}
	for _, c := range Columns {
		if string(c.Column) == field {
			return c.Column
		}
	}
	return ColDescription
}
