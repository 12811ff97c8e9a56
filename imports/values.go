// Package imports reads the counties' own spreadsheets (台账) into the
// ledger's commands: the values as clerks write them — dates five ways,
// amounts in 元 or 万元 with thousands separators, areas in 亩 or 平方米,
// counties by code or name, kinds in Chinese — turned into the exact
// values the domain checks. It knows nothing of files, NATS or HTTP.
package imports

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"promiseledger/events"
)

// excelEpoch is day 0 of Excel's 1900 date system, as Excel counts it (it
// takes 1900 for a leap year, so serial 60 is a day that never was: dates
// from 1900-03-01 on, the only ones a ledger holds, come out right).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

var (
	datePattern   = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$`)
	serialPattern = regexp.MustCompile(`^\d{4,6}(\.\d+)?$`)
	grouped       = regexp.MustCompile(`^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$`)
)

// ParseDate reads a date as clerks write it: 2020-12-31, 2020/12/31,
// 2020年12月31日, 2020.12.31 (one-digit months and days too), or an Excel
// serial number (44196 is 2020-12-31).
func ParseDate(s string) (events.Date, error) {
	s = strings.TrimSpace(s)
	if m := datePattern.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		return events.ParseDate(fmt.Sprintf("%04d-%02d-%02d", y, mo, d))
	}
	if serialPattern.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		day := excelEpoch.AddDate(0, 0, int(f))
		if day.Year() < 1950 || day.Year() > 2200 {
			return events.Date{}, fmt.Errorf("%q is not a date", s)
		}
		return events.ParseDate(day.Format("2006-01-02"))
	}
	return events.Date{}, fmt.Errorf("%q is not a date: write 2020-12-31, 2020/12/31, 2020年12月31日 or 2020.12.31", s)
}

// epoch1904 is how many days later a serial of the 1904 date system
// (Excel for Mac's old default) falls than the same serial of the 1900 one.
const epoch1904 = 1462

// parseDate1904 is ParseDate in a workbook that counts from 1904.
func parseDate1904(s string) (events.Date, error) {
	s = strings.TrimSpace(s)
	if serialPattern.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		s = strconv.Itoa(int(f) + epoch1904)
	}
	return ParseDate(s)
}

// knownUnit reports whether a unit column's word is a unit.
func knownUnit(word string) bool {
	for _, w := range unitWords {
		for _, x := range w.words {
			if strings.EqualFold(strings.TrimSpace(word), x) {
				return true
			}
		}
	}
	return false
}

// Amount is a quantity as the domain takes it: an exact decimal text and a
// unit.
type Amount struct {
	Value string
	Unit  events.Unit
}

// unitWords are the units clerks write, after a number or in a unit
// column, and what they mean: the domain's unit and a factor.
var unitWords = []struct {
	words  []string
	unit   events.Unit
	factor int64
}{
	{[]string{"万元", "万"}, events.CNY, 10_000},
	{[]string{"元", "CNY", "RMB", "人民币"}, events.CNY, 1},
	{[]string{"平方米", "㎡", "m2", "m²"}, events.M2, 1},
	{[]string{"亩", "mu"}, events.Mu, 1},
	{[]string{"项", "个", "件", "item"}, events.Item, 1},
}

var errNoUnit = errors.New("no unit: write 元, 万元, 亩, 平方米 or 项, in the cell or in its unit column")

// ParseAmount reads an amount: digits with or without thousands separators
// (1,255,000 or 1，255，000), then a unit word (125.5万元), or the unit
// given apart (unit, from a unit column; "" for none). 万元 are converted
// exactly: 125.5 万元 is 1255000 元.
func ParseAmount(s, unit string) (Amount, error) {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer("，", ",", " ", "", "\u00a0", "").Replace(s)
	num, word := s, strings.TrimSpace(unit)
	for i, r := range s {
		if (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' && r != ',' {
			num, word = s[:i], strings.TrimSpace(s[i:])
			if unit != "" && word != strings.TrimSpace(unit) {
				return Amount{}, fmt.Errorf("%q: the cell says %q, the unit column %q", s, word, unit)
			}
			break
		}
	}
	if word == "" {
		return Amount{}, errNoUnit
	}
	var found bool
	var u events.Unit
	var factor int64
	for _, w := range unitWords {
		for _, x := range w.words {
			if strings.EqualFold(word, x) {
				found, u, factor = true, w.unit, w.factor
			}
		}
	}
	if !found {
		return Amount{}, fmt.Errorf("%q: unknown unit %q (元, 万元, 亩, 平方米 or 项)", s, word)
	}
	if strings.Contains(num, ",") {
		// 1,255,000 — but not 125,5 (a decimal comma, or a slip of the
		// hand): a separator in the wrong place could mean anything.
		if !grouped.MatchString(num) {
			return Amount{}, fmt.Errorf("%q: thousands separators go every three digits", s)
		}
		num = strings.ReplaceAll(num, ",", "")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || num == "" || strings.Count(num, ".") > 1 {
		return Amount{}, fmt.Errorf("%q is not a number", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(factor))
	// Exactly as many decimals as the value needs.
	decimals := 0
	if i := strings.IndexByte(num, '.'); i >= 0 {
		decimals = len(num) - i - 1
	}
	for f := factor; f >= 10 && decimals > 0; f /= 10 {
		decimals--
	}
	return Amount{Value: r.FloatString(decimals), Unit: u}, nil
}

// kindWords are the kinds as clerks write them.
var kindWords = map[string]events.Kind{
	"土地": events.Land, "用地": events.Land, "供地": events.Land,
	"税收": events.Tax, "税收返还": events.Tax, "税收奖励": events.Tax,
	"补贴": events.Subsidy, "奖励": events.Subsidy, "财政补贴": events.Subsidy, "补助": events.Subsidy,
	"费用": events.Fee, "规费": events.Fee, "减免": events.Fee, "费用减免": events.Fee,
	"基础设施": events.Infrastructure, "配套": events.Infrastructure, "水电路气": events.Infrastructure,
	"融资": events.Financing, "金融": events.Financing, "贷款": events.Financing,
	"其他": events.Other,
}

// ParseKind reads a kind: the domain's word (land, tax, …) or a Chinese one.
func ParseKind(s string) (events.Kind, error) {
	s = strings.TrimSpace(s)
	if k := events.Kind(strings.ToLower(s)); k.Valid() {
		return k, nil
	}
	if k, ok := kindWords[s]; ok {
		return k, nil
	}
	return "", fmt.Errorf("%q is not a kind: 土地, 税收, 补贴, 费用, 基础设施, 融资 or 其他 (or %s)", s, events.OneOf(events.Kinds))
}

// ParseCounty reads a county by its code or its name (楚雄市, or 楚雄 for
// short when that names one county only).
func ParseCounty(s string, j *events.Jurisdiction) (string, error) {
	s = strings.TrimSpace(s)
	if c, ok := j.County(s); ok {
		return c.Code, nil
	}
	var match []events.County
	for _, c := range j.Counties {
		if c.Name == s {
			return c.Code, nil
		}
		if strings.HasPrefix(c.Name, s) && s != "" {
			match = append(match, c)
		}
	}
	if len(match) == 1 {
		return match[0].Code, nil
	}
	return "", fmt.Errorf("%q is not a county of the jurisdiction: give its code or its name", s)
}
