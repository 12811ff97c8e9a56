package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/xuri/excelize/v2"

	"promiseledger/jsstore"
)

// benchRows is the size of the workbook BenchmarkImport imports:
// LEDGER_BENCH_ROWS, or 200 for the smoke run in make test.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 200
}

// benchWorkbook is a county ledger of n rows in the demo's counties, every
// other one with a part already fulfilled: n commitments and n/2
// fulfilments to append.
func benchWorkbook(b *testing.B, n int) []byte {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	_ = sw.SetRow("A1", []any{"县市区", "责任单位", "项目名称", "投资企业", "承诺类型", "承诺事项", "承诺数量", "单位", "承诺日期", "兑现期限", "协议文号", "已兑现", "兑现日期"})
	counties := []string{"楚雄市", "双柏县", "牟定县", "南华县", "姚安县", "大姚县", "永仁县", "元谋县", "武定县", "禄丰市"}
	for i := 0; i < n; i++ {
		row := []any{counties[i%len(counties)], "招商局", fmt.Sprintf("项目%05d", i), fmt.Sprintf("企业%05d有限公司", i), "补贴", "设备补助",
			fmt.Sprintf("%d.5", 100+i%900), "万元", "2020-03-15", "2021-12-31", fmt.Sprintf("协〔2020〕%d号", i)}
		if i%2 == 0 {
			row = append(row, "50", "2021-06-30")
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	_ = sw.Flush()
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkImport measures, in one run on the same machine, side by side:
//   - ledger-import: POST /api/v1/imports of an n-row workbook to a running
//     `ledger serve` (fsync on every append, the default): read, check every
//     row, append n commitments and n/2 fulfilments, answer;
//   - raw-jetstream: publishing the same number of messages (the events'
//     size) to a stream on the same kind of server with every message
//     fsynced, one at a time with an expected last subject sequence (the
//     ledger's own publishing discipline), and then 64 in flight.
func BenchmarkImport(b *testing.B) {
	n := benchRows()
	book := benchWorkbook(b, n)
	events := n + (n+1)/2
	b.Run(fmt.Sprintf("ledger-import/rows=%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			url, stop := start(b, "--data", b.TempDir(), "--demo")
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("file", "台账.xlsx")
			_, _ = fw.Write(book)
			_ = mw.Close()
			req, _ := http.NewRequest("POST", url+"/api/v1/imports", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+demoSupervisor)
			b.StartTimer()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var rep struct{ Imported int }
			_ = json.NewDecoder(res.Body).Decode(&rep)
			res.Body.Close()
			b.StopTimer()
			if res.StatusCode != 200 || rep.Imported != n {
				b.Fatalf("import: %s, %d imported of %d", res.Status, rep.Imported, n)
			}
			if err := stop(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	payload := bytes.Repeat([]byte("x"), 900) // about an event's size
	for _, inFlight := range []int{1, 64} {
		b.Run(fmt.Sprintf("raw-jetstream-sync/in-flight=%d/messages=%d", inFlight, events), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: b.TempDir(), SyncAlways: true})
				if err != nil {
					b.Fatal(err)
				}
				nc, _ := emb.Connect("raw")
				js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(inFlight))
				ctx := context.Background()
				if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: jetstream.FileStorage}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if inFlight == 1 {
					for m := 0; m < events; m++ {
						if _, err := js.Publish(ctx, fmt.Sprintf("raw.%d", m), payload, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					for m := 0; m < events; m++ { // at most inFlight unacknowledged: PublishAsync waits for room
						if _, err := js.PublishAsync(fmt.Sprintf("raw.%d", m), payload, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
							b.Fatal(err)
						}
					}
					<-js.PublishAsyncComplete()
				}
				b.StopTimer()
				nc.Close()
				emb.Shutdown()
				b.StartTimer()
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
