// Package demo loads a clearly synthetic data set into a ledger so that a
// newcomer sees something real: every county, every kind of promise, every
// state, some overdue. Every name is marked 【演示】 (demo). Loading it again
// adds nothing: each step carries a fixed idempotency key.
package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"promiseledger/events"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// Actor records the demo's events.
var Actor = events.Actor{Name: "演示数据 demo loader", Role: "demo"}

type kindSpec struct {
	kind    events.Kind
	dept    string
	unit    events.Unit
	total   string
	partial string
	what    string
}

var kinds = []kindSpec{
	{events.Land, "自然资源局", events.Mu, "120.5", "80", "保障项目建设用地"},
	{events.Tax, "税务局", events.CNY, "2000000.00", "750000.00", "前三年地方留成税收奖励"},
	{events.Subsidy, "财政局", events.CNY, "5000000.00", "2000000.00", "固定资产投资补助"},
	{events.Fee, "住房和城乡建设局", events.CNY, "350000.00", "120000.00", "减免城市基础设施配套费"},
	{events.Infrastructure, "工业和信息化局", events.Item, "3", "1", "水、电、路接通到项目红线"},
	{events.Financing, "地方金融监督管理局", events.CNY, "30000000.00", "10000000.00", "协调银行项目贷款"},
	{events.Other, "投资促进局", events.M2, "5000.00", "2000.00", "提供过渡期标准厂房"},
}

var industries = []string{"新能源电池材料", "绿色食品加工", "光伏组件", "中药材精深加工", "装配式建材", "文旅康养"}

// scenario makes one commitment in a given state. Its dates are days from
// the day the demo is first loaded, so the demo shows the same states
// whenever it is loaded; steps gets at, which turns days into dates.
type scenario struct {
	madeOn, due int
	steps       func(k kindSpec, at func(int) string) []events.Command
}

var scenarios = []scenario{
	// open, not yet due
	{-262, 215, func(kindSpec, func(int) string) []events.Command { return nil }},
	// partially fulfilled and overdue
	{-921, -331, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{fulfil(k, k.partial, at(-515), "第一批兑现凭证")}
	}},
	// fulfilled on time
	{-1214, -696, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{fulfil(k, k.partial, at(-987), "第一批兑现凭证"), fulfilRest(k, at(-727), "第二批兑现凭证")}
	}},
	// fulfilled late, after a mistaken entry was reversed
	{-1325, -880, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{
			fulfil(k, k.partial, at(-931), "误录：重复录入的凭证"),
			reverseFirst{reason: "重复录入，予以冲正"},
			fulfil(k, k.total, at(-637), "全部兑现凭证"),
		}
	}},
	// open, long overdue, under supervision
	{-1412, -971, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{events.OrderSupervision{Deadline: at(581), Note: "请于期限内兑现并报告进展"}}
	}},
	// waived by agreement
	{-1030, -515, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{events.Waive{Reason: "企业书面放弃该项政策", Approval: "州投促局审批〔演示〕1号"}}
	}},
	// cancelled: the investor did not meet its conditions
	{-1144, -606, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{events.Cancel{Reason: "企业未按协议完成投资强度", Approval: "州投促局审批〔演示〕2号"}}
	}},
	// extended, partially fulfilled, under an open complaint
	{-817, -423, func(k kindSpec, at func(int) string) []events.Command {
		return []events.Command{
			fulfil(k, k.partial, at(-556), "第一批兑现凭证"),
			events.Amend{Due: at(-58), Reason: "项目规划调整，申请延期", Approval: "州投促局审批〔演示〕3号"},
			events.OpenDispute{Complainant: "【演示】企业法定代表人", Summary: "延期后仍未兑现剩余部分"},
		}
	}},
}

func fulfil(k kindSpec, v, on, evidence string) events.Command {
	return events.RecordFulfillment{Quantity: &events.QuantityInput{Value: events.Text(v), Unit: string(k.unit)}, FulfilledOn: on, Evidence: "【演示】" + evidence}
}

func fulfilRest(k kindSpec, on, evidence string) events.Command {
	rest := events.MustDecimal(k.total).Sub(events.MustDecimal(k.partial))
	return fulfil(k, events.Quantity{Value: rest, Unit: k.unit}.String(), on, evidence)
}

// reverseFirst reverses the commitment's first fulfilment (its id is known
// only once it is recorded).
type reverseFirst struct{ reason string }

func (r reverseFirst) Type() events.Type { return events.FulfillmentReversedType }

func (r reverseFirst) Decide(c *events.Commitment, today events.Date) (any, events.Date, error) {
	if len(c.Fulfillments) == 0 {
		return nil, events.Date{}, fmt.Errorf("demo: nothing to reverse")
	}
	return events.ReverseFulfillment{FulfillmentID: c.Fulfillments[0].ID, Reason: r.reason}.Decide(c, today)
}

// creditCode makes a valid, obviously synthetic unified social credit code.
func creditCode(county string, n int) string {
	first := fmt.Sprintf("91%sMA6%06d", county, n)
	check, _ := events.CreditCodeCheck(first)
	return first + string(check)
}

// meta names the demo as the actor and gives each step a fixed key; the
// step's digest is that of its key, since each key stands for one request.
func meta(key string) ledger.Meta {
	sum := sha256.Sum256([]byte(key))
	return ledger.Meta{Actor: Actor, IdempotencyKey: key, Digest: hex.EncodeToString(sum[:])}
}

// PerCounty is the number of demo commitments in each county.
const PerCounty = 5

// Load records the demo data set. It returns the number of events it
// appended: 0 when the data set was already there.
func Load(ctx context.Context, l *ledger.Ledger, view *projections.Projection) (int, error) {
	added := 0
	today := l.Today()
	at := func(days int) string { return today.AddDays(days).String() }
	for ci, county := range l.Jurisdiction().Counties {
		for j := 0; j < PerCounty; j++ {
			n := ci*PerCounty + j
			k := kinds[n%len(kinds)]
			sc := scenarios[n%len(scenarios)]
			industry := industries[n%len(industries)]
			key := fmt.Sprintf("demo-v1-%s-%d", county.Code, j)
			before := view.Applied()
			c, err := l.Make(ctx, events.MakeCommitment{
				County:      county.Code,
				Department:  county.Name + k.dept,
				Project:     fmt.Sprintf("【演示】%s%s项目", county.Name, industry),
				Investor:    events.InvestorInput{Name: fmt.Sprintf("【演示】云南%s%s有限公司", county.Name, industry), CreditCode: creditCode(county.Code, n+1)},
				Kind:        string(k.kind),
				Description: "【演示】" + k.what,
				Quantity:    &events.QuantityInput{Value: events.Text(k.total), Unit: string(k.unit)},
				MadeOn:      at(sc.madeOn),
				Due:         at(sc.due),
				Reference:   fmt.Sprintf("【演示】招商引资协议〔%s〕%d号", at(sc.madeOn)[:4], n+1),
			}, meta(key))
			if err != nil {
				return added, fmt.Errorf("demo commitment %s: %w", key, err)
			}
			for i, cmd := range sc.steps(k, at) {
				skey := fmt.Sprintf("%s-step%d", key, i)
				if _, err := l.Execute(ctx, c.ID, cmd, meta(skey)); err != nil {
					return added, fmt.Errorf("demo step %s: %w", skey, err)
				}
			}
			if after := view.Applied(); after > before {
				added += int(after - before)
			}
		}
	}
	return added, nil
}
