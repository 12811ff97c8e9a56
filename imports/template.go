package imports

import (
	"bytes"
	"fmt"

	"github.com/xuri/excelize/v2"

	"promiseledger/events"
)

// columnNotes explain each column on the template's second sheet, with an
// example.
var columnNotes = map[Column][2]string{
	ColCounty:      {"县市区名称或行政区划代码（必填）", "楚雄市"},
	ColDepartment:  {"对承诺负责兑现的单位（必填）", "楚雄市自然资源局"},
	ColProject:     {"招商引资项目名称（必填）", "年产10GW单晶硅棒项目"},
	ColInvestor:    {"投资企业名称（必填）", "楚雄某某硅材料有限公司"},
	ColCreditCode:  {"18位统一社会信用代码；企业尚未注册时留空", "91350100M000100Y43"},
	ColKind:        {"土地、税收、补贴、费用、基础设施、融资或其他（必填，可下拉选择）", "土地"},
	ColDescription: {"承诺的具体内容（必填）", "保障项目用地300亩，2020年底前完成供地"},
	ColAmount:      {"数字，可带单位：125.5万元、300亩、1,255,000元（必填）", "300"},
	ColUnit:        {"元、万元、亩、平方米或项；数量已带单位时可留空", "亩"},
	ColMadeOn:      {"日期：2020-03-15、2020/3/15、2020年3月15日或2020.3.15（必填）", "2020-03-15"},
	ColDue:         {"承诺兑现的最后日期，格式同上（必填）", "2020-12-31"},
	ColReference:   {"招商引资协议或文件的文号", "楚投促协〔2020〕17号"},
	ColFulfilled:   {"已兑现的数量，单位与承诺数量相同；导入为一笔兑现记录", "120"},
	ColFulfilledOn: {"已兑现的日期；填写已兑现数量时必填", "2020-10-01"},
}

// Template writes the import template: one row per commitment under the
// Chinese headers, an example row, drop-down lists for kind, unit and
// county, and a second sheet explaining every column.
func Template(j *events.Jurisdiction) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet, notes = "承诺台账", "填写说明"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(notes); err != nil {
		return nil, err
	}
	var counties []string
	for _, c := range j.Counties {
		counties = append(counties, c.Name)
	}
	lists := map[Column][]string{
		ColKind:   {"土地", "税收", "补贴", "费用", "基础设施", "融资", "其他"},
		ColUnit:   {"元", "万元", "亩", "平方米", "项"},
		ColCounty: counties,
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DDEBF7"}, Pattern: 1}})
	if err != nil {
		return nil, err
	}
	_ = f.SetCellValue(notes, "A1", "列")
	_ = f.SetCellValue(notes, "B1", "填写要求")
	_ = f.SetCellValue(notes, "C1", "示例")
	for i, c := range Columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		_ = f.SetCellValue(sheet, col+"1", c.Headers[0])
		_ = f.SetCellValue(sheet, col+"2", columnNotes[c.Column][1])
		_ = f.SetColWidth(sheet, col, col, float64(max(10, 2*len([]rune(c.Headers[0]))+4)))
		if l, ok := lists[c.Column]; ok {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = fmt.Sprintf("%s2:%s5000", col, col)
			if err := dv.SetDropList(l); err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Headers[0], err)
			}
			if err := f.AddDataValidation(sheet, dv); err != nil {
				return nil, err
			}
		}
		row := i + 2
		_ = f.SetCellValue(notes, fmt.Sprintf("A%d", row), c.Headers[0])
		_ = f.SetCellValue(notes, fmt.Sprintf("B%d", row), columnNotes[c.Column][0])
		_ = f.SetCellValue(notes, fmt.Sprintf("C%d", row), columnNotes[c.Column][1])
	}
	last, _ := excelize.ColumnNumberToName(len(Columns))
	_ = f.SetCellStyle(sheet, "A1", last+"1", bold)
	_ = f.SetCellStyle(notes, "A1", "C1", bold)
	_ = f.SetColWidth(notes, "A", "A", 18)
	_ = f.SetColWidth(notes, "B", "B", 70)
	_ = f.SetColWidth(notes, "C", "C", 40)
	_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TemplateName is the template's file name, as a clerk saves it.
const TemplateName = "承诺台账模板.xlsx"
