package imports

import (
	"strings"
	"testing"

	"promiseledger/events"
)

var header = []string{"*县市区", "责任单位", "项目名称", "投资企业", "统一社会信用代码", "承诺类型", "承诺事项", "承诺数量（单位见右）", "单位", "签约日期", "兑现期限", "协议文号", "已兑现", "兑现日期"}

func row(over map[int]string) []string {
	r := []string{"楚雄市", "楚雄市财政局", "年产10GW单晶硅棒项目", "楚雄某某硅材料有限公司", "91350100M000100Y43", "补贴", "设备补助", "125.5", "万元", "2020年3月15日", "2020/12/31", "楚投促协〔2020〕17号", "", ""}
	for i, v := range over {
		r[i] = v
	}
	return r
}

func TestReadHeader(t *testing.T) {
	h, problems := ReadHeader(header)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if h.index[ColCounty] != 0 || h.index[ColAmount] != 7 || h.name[ColAmount] != "承诺数量（单位见右）" {
		t.Fatalf("header: %+v", h)
	}
	en, problems := ReadHeader([]string{"county", "department", "project", "investor", "kind", "description", "amount", "made_on", "due"})
	if len(problems) != 0 || en.index[ColDue] != 8 {
		t.Fatalf("English headers: %v %v", en, problems)
	}
	_, problems = ReadHeader([]string{"县市区", "项目名称", "项目"})
	var rules []string
	for _, p := range problems {
		rules = append(rules, p.Text("zh")+" | "+p.Text("en"))
	}
	all := strings.Join(rules, "\n")
	for _, want := range []string{"缺少「责任单位」列", "缺少「兑现期限」列", "「项目」列", "重复", "no column 责任单位 (department)", "the same column as"} {
		if !strings.Contains(all, want) {
			t.Errorf("header problems lack %q:\n%s", want, all)
		}
	}
}

func TestReadRow(t *testing.T) {
	j, today := events.DefaultJurisdiction(), events.MustDate("2026-11-27")
	h, _ := ReadHeader(header)
	r, problems := ReadRow(h, 2, row(nil), j, today)
	if len(problems) != 0 {
		t.Fatalf("a good row: %v", problems)
	}
	if r.Make.County != "532301" || r.Make.Kind != "subsidy" || r.Make.Quantity.Unit != "CNY" || r.Make.MadeOn != "2020-03-15" || r.Make.Due != "2020-12-31" || r.Fulfil != nil {
		t.Fatalf("the command: %+v", r.Make)
	}
	if _, err := r.Make.Decide(j, today); err != nil {
		t.Fatalf("the ledger refuses the command: %v", err)
	}
	again, _ := ReadRow(h, 9, row(nil), j, today)
	other, _ := ReadRow(h, 2, row(map[int]string{6: "设备补助（二期）"}), j, today)
	if again.Key != r.Key || other.Key == r.Key {
		t.Fatalf("keys: the same row %s and %s, another %s", r.Key, again.Key, other.Key)
	}
	done, problems := ReadRow(h, 3, row(map[int]string{12: "50", 13: "2020.10.1"}), j, today)
	if len(problems) != 0 || done.Fulfil == nil || done.Fulfil.FulfilledOn != "2020-10-01" {
		t.Fatalf("a row with a fulfilment: %+v %v", done.Fulfil, problems)
	}
	unregistered, problems := ReadRow(h, 4, row(map[int]string{4: ""}), j, today)
	if len(problems) != 0 || unregistered.Make.Investor.Registered == nil || *unregistered.Make.Investor.Registered {
		t.Fatalf("a row without a credit code: %+v %v", unregistered.Make.Investor, problems)
	}

	// One bad value of every kind, each reported at its row and column.
	for _, tc := range []struct {
		over   map[int]string
		column string
	}{
		{map[int]string{0: "昆明市"}, "*县市区"},
		{map[int]string{5: "股权"}, "承诺类型"},
		{map[int]string{7: "很多"}, "承诺数量（单位见右）"},
		{map[int]string{8: "美元"}, "单位"},
		{map[int]string{9: "去年"}, "签约日期"},
		{map[int]string{10: "2020-02-30"}, "兑现期限"},
		{map[int]string{10: "2019-12-31"}, "兑现期限"}, // before the promise was made
		{map[int]string{4: "91350100M000100Y44"}, "统一社会信用代码"},
		{map[int]string{3: ""}, "投资企业"},
		{map[int]string{6: ""}, "承诺事项"},
		{map[int]string{12: "50", 13: ""}, "兑现日期"},
		{map[int]string{12: "50亩"}, "已兑现"},
	} {
		_, problems := ReadRow(h, 7, row(tc.over), j, today)
		if len(problems) != 1 || problems[0].Row != 7 || problems[0].Column != tc.column {
			t.Errorf("%v: %v, want one problem at row 7, column %s", tc.over, problems, tc.column)
		}
	}
}
