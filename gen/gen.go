// Package gen makes a realistic synthetic ledger of any size, through the
// ledger's own commands (so every event is checked, hashed and chained as
// a real one is): promises made over the years before today in every
// county, of every kind, most of them partly or wholly kept — some late,
// some extended, waived or cancelled —, some complained about and put
// under supervision, in plausible proportions. The same seed makes the
// same ledger (but for ids and the instants events are recorded).
package gen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"promiseledger/events"
	"promiseledger/ledger"
)

// Actor records the generated events.
var Actor = events.Actor{Name: "ledger gen", Role: "supervisor"}

// Province is a jurisdiction of n synthetic counties (a province has about
// 129), coded 53xx01… and named 县1, 县2, ….
func Province(n int) []events.County {
	out := make([]events.County, n)
	for i := range out {
		out[i] = events.County{Code: fmt.Sprintf("%02d%02d%02d", 53+i/99/99, 1+i/99%99, 1+i%99), Name: fmt.Sprintf("合成县%d", i+1)}
	}
	return out
}

// kind is one kind of promise: what it is, its unit, and the range of its
// amount.
type kind struct {
	kind     events.Kind
	dept     string
	unit     events.Unit
	min, max int // whole units
	weight   int
}

var kinds = []kind{
	{events.Land, "自然资源局", events.Mu, 20, 800, 20},
	{events.Tax, "税务局", events.CNY, 200_000, 20_000_000, 20},
	{events.Subsidy, "财政局", events.CNY, 100_000, 50_000_000, 25},
	{events.Fee, "住房和城乡建设局", events.CNY, 50_000, 2_000_000, 15},
	{events.Infrastructure, "工业和信息化局", events.Item, 1, 6, 10},
	{events.Financing, "地方金融监督管理局", events.CNY, 5_000_000, 200_000_000, 5},
	{events.Other, "投资促进局", events.M2, 1_000, 30_000, 5},
}

var industries = []string{"新能源电池材料", "绿色食品加工", "光伏组件", "中药材精深加工", "装配式建材", "文旅康养", "硅材料", "冷链物流", "有色金属精深加工", "生物医药"}

// Run records n commitments and their histories through l, with workers
// commands at a time, calling progress with the number of commitments
// done. It returns the number of events appended.
func Run(ctx context.Context, l *ledger.Ledger, n, workers int, seed uint64, progress func(done int)) (int64, error) {
	j, today := l.Jurisdiction(), l.Today()
	var next, done, appended atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				k, err := one(ctx, l, j, today, i, seed)
				appended.Add(int64(k))
				if err != nil {
					errs <- fmt.Errorf("commitment %d: %w", i, err)
					return
				}
				if d := int(done.Add(1)); progress != nil {
					progress(d)
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return appended.Load(), err
	default:
	}
	return appended.Load(), ctx.Err()
}

// one records commitment i and its history; it returns how many events.
func one(ctx context.Context, l *ledger.Ledger, j *events.Jurisdiction, today events.Date, i int, seed uint64) (int, error) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	county := j.Counties[i%len(j.Counties)]
	k := pick(r)
	amount := k.min + r.IntN(k.max-k.min+1)
	madeAgo := 60 + r.IntN(7*365)                      // made up to seven years ago
	due := today.AddDays(-madeAgo + 180 + r.IntN(900)) // due six months to three years after
	made := today.AddDays(-madeAgo)
	industry := industries[r.IntN(len(industries))]
	m := ledger.Meta{Actor: Actor}
	c, err := l.Make(ctx, events.MakeCommitment{
		County: county.Code, Department: county.Name + k.dept, Project: fmt.Sprintf("%s%s项目%d", county.Name, industry, i),
		Investor: events.InvestorInput{Name: fmt.Sprintf("%s%s有限公司%d", county.Name, industry, i), Registered: ptr(false)},
		Kind:     string(k.kind), Description: fmt.Sprintf("%s，%s", k.dept, industry),
		Quantity: &events.QuantityInput{Value: events.Text(fmt.Sprint(amount)), Unit: string(k.unit)},
		MadeOn:   made.String(), Due: due.String(), Reference: fmt.Sprintf("招商协议〔%s〕%d号", made.String()[:4], i),
	}, m)
	if err != nil {
		return 0, err
	}
	count := 1
	do := func(cmd events.Command) error {
		_, err := l.Execute(ctx, c.ID, cmd, m)
		if err == nil {
			count++
		}
		return err
	}
	// Days from made to a date no later than today.
	upTo := func(from events.Date, span int) events.Date {
		d := from.AddDays(r.IntN(max(span, 1)))
		if d.After(today) {
			return today
		}
		return d
	}
	fate := r.IntN(100)
	switch {
	case fate < 4: // waived
		return count, do(events.Waive{Reason: "经研究不再兑现", Approval: "州政府批复"})
	case fate < 7: // cancelled: the investor did not meet its conditions
		return count, do(events.Cancel{Reason: "投资方未达投资强度", Approval: "州政府批复"})
	case fate < 12: // extended
		if err := do(events.Amend{Due: due.AddDays(180 + r.IntN(360)).String(), Reason: "项目建设延期", Approval: "州政府批复"}); err != nil {
			return count, err
		}
	}
	// Fulfilled in one to three parts: wholly (45%), partly (30%) or not yet.
	parts := 1 + r.IntN(3)
	var share int
	switch kept := r.IntN(100); {
	case kept < 45:
		share = 100
	case kept < 75:
		share = 20 + r.IntN(60)
	}
	total := amount * share / 100
	on := made
	for p := 0; p < parts && total > 0; p++ {
		piece := total / (parts - p)
		if p == parts-1 {
			piece = total
		}
		total -= piece
		if piece == 0 {
			continue
		}
		on = upTo(on, 400)
		if err := do(events.RecordFulfillment{Quantity: &events.QuantityInput{Value: events.Text(fmt.Sprint(piece)), Unit: string(k.unit)},
			FulfilledOn: on.String(), Evidence: fmt.Sprintf("兑现凭证第%d笔", p+1)}); err != nil {
			return count, err
		}
	}
	// Complaints (one in ten), and supervision of some overdue ones.
	if r.IntN(10) == 0 {
		if err := do(events.OpenDispute{Complainant: "投资企业", Summary: "承诺未按期兑现"}); err != nil {
			return count, err
		}
	}
	if r.IntN(8) == 0 && due.Before(today) && share < 100 {
		if err := do(events.OrderSupervision{Deadline: today.AddDays(30 + r.IntN(60)).String(), Note: "限期兑现"}); err != nil {
			return count, err
		}
	}
	return count, nil
}

func pick(r *rand.Rand) kind {
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range kinds {
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return kinds[0]
}

func ptr[T any](v T) *T { return &v }
