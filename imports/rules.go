package imports

import (
	"errors"
	"regexp"

	"promiseledger/events"
)

// ruleZh are the domain's rules, which it states in English, as a clerk
// reads them: a pattern of the English rule, and its Chinese with the
// pattern's groups ($1) in it.
var ruleZh = []struct {
	en *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^is required`), "必填，不能为空"},
	{regexp.MustCompile(`^must be at most (\d+) characters, got (\d+)`), "不能超过 $1 个字（现为 $2 个字）"},
	{regexp.MustCompile(`^must be positive`), "应大于零"},
	{regexp.MustCompile(`^must be a whole number`), "应为整数"},
	{regexp.MustCompile(`^must have at most (\d+) decimals`), "最多 $1 位小数"},
	{regexp.MustCompile(`^must be less than 10\^15`), "数值过大"},
	{regexp.MustCompile(`^must be a decimal number written as digits.*$`), "应为数字，如 1250000.00"},
	{regexp.MustCompile(`^must be a decimal.*$`), "应为数字"},
	{regexp.MustCompile(`^must not be before made_on \((.*)\)$`), "不能早于承诺日期（$1）"},
	{regexp.MustCompile(`^must not be after today \((.*)\)$`), "不能晚于今天（$1）"},
	{regexp.MustCompile(`^must be between 1949 and 2200`), "应在1949年至2200年之间"},
	{regexp.MustCompile(`^must be 18 characters \(GB 32100-2015\), got (\d+).*$`), "统一社会信用代码应为18位（现为 $1 位）"},
	{regexp.MustCompile(`^must use only digits and the capital letters`), "统一社会信用代码只能由数字和大写字母组成（不含 I、O、S、V、Z）"},
	{regexp.MustCompile(`^check character is (.), expected (.).*$`), "统一社会信用代码校验位错误（末位为 $1，应为 $2），请核对"},
	{regexp.MustCompile(`^must be empty when investor.registered is false`), "企业尚未注册时不填统一社会信用代码"},
	{regexp.MustCompile(`^(\S+) (\S+) exceeds the (\S+) (\S+) outstanding`), "超过未兑现数量（未兑现 $3 $4）"},
}

// Chinese is a rule of the domain ("must be positive") in Chinese, if it
// is one the ledger knows how to say.
func Chinese(rule string) (string, bool) {
	for _, r := range ruleZh {
		if r.en.MatchString(rule) {
			return r.en.ReplaceAllString(rule, r.zh), true
		}
	}
	return rule, false
}

// domainProblem is the column at fault for an error of the domain, and its
// rule in Chinese and in English.
func domainProblem(err error) (Column, string, string) {
	col := ColDescription
	var fe *events.FieldError
	if !errors.As(err, &fe) {
		return col, "不符合账本规则：" + err.Error(), err.Error()
	}
	col = columnOf(fe.Field)
	if zh, ok := Chinese(fe.Rule); ok {
		return col, zh, err.Error()
	}
	return col, "不符合账本规则：" + err.Error(), err.Error()
}
