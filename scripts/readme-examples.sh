#!/usr/bin/env bash
# Runs the README's examples, as written, against a fresh demo ledger on
# localhost:8080 in a temporary folder, and stops at the first that fails.
# Needs curl; `make readme` runs it. It uses port 8080, as the README does.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/bin/ledger" ./cmd/ledger
export PATH="$work/bin:$PATH"
cd "$work"

step() { printf '\n== %s\n' "$*"; }
expect() { # expect STATUS CURL-ARGS...: runs curl, checks the status, prints the body
	local want=$1; shift
	local got
	got=$(curl -s -o body.json -w '%{http_code}' "$@")
	head -c 300 body.json; echo
	[ "$got" = "$want" ] || { echo "FAILED: status $got, want $want" >&2; exit 1; }
}
id_of() { grep -o '"id":"[^"]*"' body.json | head -1 | cut -d'"' -f4; }

step "make run (the demo, in ./data-demo)"
ledger serve --data ./data-demo --demo > serve.out 2> serve.err & pid=$!
until curl -s -o /dev/null -w '%{http_code}' localhost:8080/readyz | grep -q 200; do sleep 0.1; done
expect 200 -H 'Authorization: Bearer pl_demo-supervisor_demo' http://127.0.0.1:8080/api/v1/counties

step "a short session with curl"
AUTH='Authorization: Bearer pl_demo-532301_demo'
expect 201 -X POST localhost:8080/api/v1/commitments -H "$AUTH" -H 'Content-Type: application/json' \
  -H 'Idempotency-Key: cx-2020-17-land' -d '{
    "county": "532301", "department": "楚雄市自然资源局", "project": "年产10GW单晶硅棒项目",
    "investor": {"name": "楚雄某某硅材料有限公司", "credit_code": "91350100M000100Y43"},
    "kind": "land", "description": "保障项目用地300亩，2020年底前完成供地",
    "quantity": {"value": "300", "unit": "mu"},
    "made_on": "2020-03-15", "due": "2020-12-31", "reference": "楚投促协〔2020〕17号"}'
ID=$(id_of)
expect 201 -X POST localhost:8080/api/v1/commitments/$ID/fulfillments -H "$AUTH" \
  -H 'Content-Type: application/json' -H 'If-Match: "1"' \
  -d '{"quantity": {"value": "120", "unit": "mu"}, "fulfilled_on": "2020-10-01", "evidence": "土地出让合同 CX2020-33"}'
expect 200 -H "$AUTH" localhost:8080/api/v1/commitments/$ID
expect 200 -H "$AUTH" localhost:8080/api/v1/commitments/$ID/history
expect 200 -H "$AUTH" 'localhost:8080/api/v1/commitments?overdue=true'
expect 200 -H "$AUTH" localhost:8080/api/v1/counties/532301
expect 409 -X POST localhost:8080/api/v1/commitments/$ID/fulfillments -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"quantity": {"value": "500", "unit": "mu"}, "fulfilled_on": "2020-10-02", "evidence": "x"}'

step "supervision alerts and the bulletin"
T='Authorization: Bearer pl_demo-supervisor_demo'
expect 200 -H "$T" 'localhost:8080/api/v1/alerts?state=open&rule=escalated'
expect 200 -H "$T" 'localhost:8080/api/v1/reports/overdue?as_of=2026-06-30&format=md'
LEDGER_TOKEN=pl_demo-supervisor_demo ledger alerts > /dev/null
LEDGER_TOKEN=pl_demo-supervisor_demo ledger report overdue --as-of 2026-06-30 | head -3

step "importing a county's ledger (a county clerk)"
export LEDGER_TOKEN=pl_demo-supervisor_demo
ledger import data-demo/workbooks/示例台账-可导入.xlsx --dry-run
ledger import data-demo/workbooks/示例台账-可导入.xlsx | grep '导入 20 行'
ledger import data-demo/workbooks/示例台账-可导入.xlsx | grep '此前已导入 20 行'
! ledger import data-demo/workbooks/示例台账-含错误.xlsx --report 标注.xlsx --rejected 待修改.xlsx
ledger import data-demo/workbooks/示例台账-含错误.xlsx --skip-invalid --rejected 待修改.xlsx
[ -s 标注.xlsx ] && [ -s 待修改.xlsx ]
T='Authorization: Bearer pl_demo-532301_demo'
curl -s -H "$T" -o 承诺台账模板.xlsx localhost:8080/api/v1/imports/template
expect 200 -H "$T" -F file=@承诺台账模板.xlsx 'localhost:8080/api/v1/imports?dry_run=true'
expect 200 -H "$T" -F file=@承诺台账模板.xlsx 'localhost:8080/api/v1/imports?report=text'

step "exporting (a supervisor)"
ledger export --out 承诺台账-全州.xlsx
ledger export --county 532301 --status open --out 楚雄市-未兑现.xlsx
ledger export --on 2020-12-31 --out 2020年底.xlsx
ledger export --format csv > 承诺台账.csv
head -c 3 承诺台账.csv | od -An -tx1 | grep -q 'ef bb bf'
ledger report overdue --format xlsx --out 逾期通报.xlsx
curl -s -H 'Authorization: Bearer pl_demo-supervisor_demo' -OJ 'localhost:8080/api/v1/commitments/export?county=532301&overdue=true'
ls -1 *.xlsx
unset LEDGER_TOKEN

step "proving that nothing was altered"
T='Authorization: Bearer pl_demo-auditor_demo'
PUB=$(ledger audit pubkey --data ./data-demo)
expect 200 -H "$T" localhost:8080/api/v1/audit/verify
ID=$(curl -s -H "$T" 'localhost:8080/api/v1/commitments?limit=1' | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
curl -s -H "$T" "localhost:8080/api/v1/commitments/$ID/proof" > proof.json
ledger audit check-proof proof.json --pubkey "$PUB"
LEDGER_TOKEN=pl_demo-auditor_demo ledger audit export > ledger.jsonl
ledger audit verify --file ledger.jsonl --pubkey "$PUB"

step "stop, then the commands on a stopped ledger's folder"
kill -TERM $pid; wait $pid || true
ledger audit verify --data ./data-demo
ledger token add --data ./data-demo --role county --county 532301 --name "楚雄市投资促进局" --expires 2027-12-31
ledger token list --data ./data-demo
ledger token revoke --data ./data-demo "楚雄市投资促进局"
ledger rebuild --data ./data-demo

printf '\nEvery README example ran as written.\n'
