#!/usr/bin/env bash
# The product's main job, end to end against a running stack (scripts/run.sh starts one and runs
# this): one mixed payment (authorise, create, pre-settle, confirm, pay, paid), a refund of its
# self-pay part, today's self-pay reconciliation when the sandbox serves statements over SFTP,
# and a link to the patient's page for a second bill. Prints each step; exits non-zero if any step does not end as it should.
set -euo pipefail
cd "$(dirname "$0")/.."
API=${MEDPAY_API_LISTEN:-127.0.0.1:8080}
SANDBOX=${MEDPAY_SANDBOX_LISTEN:-127.0.0.1:9443}
CA=${MEDPAY_SANDBOX_DIR:-$PWD/.data/sandbox}/tls/ca.pem
ORG=H51010500001
ORD=${1:-DEMO-$(date +%s)}
field() { python3 -c "import json,sys; v=json.load(sys.stdin); [v:=v[k] if v is not None else None for k in sys.argv[1:]]; print('' if v is None else v)" "$@"; }
api() { curl -fsS -H 'content-type: application/json' "$@"; }
sandbox() { curl -fsS --cacert "$CA" -H 'content-type: application/json' "$@"; }
wait_for() { # path field value seconds
  for _ in $(seq 1 $(( $4 * 4 ))); do
    [ "$(api "http://$API$1" | field "${@:2:1}")" = "$3" ] && return 0
    sleep 0.25
  done
  echo "demo: $1 did not reach $2=$3 in $4 s:" >&2; api "http://$API$1" >&2; exit 1
}
P=/v1/payments/$ORG/$ORD
echo "1. the patient authorises at the channel (sandbox persona 'mixed')"
AUTH=$(sandbox -d '{"persona":"mixed"}' "https://$SANDBOX/sandbox/patient/authorize" | field authCode)
# A realistic outpatient bill, as the mid-platform's fee upload (6201) needs it: per line the
# national catalogue code beside the hospital's own, quantity x unit price = amount; the visit's
# department, doctor and diagnosis.
VISIT='"visit":{"dept_code":"A03","dept_name":"全科医疗科","doctor_code":"D0001","doctor_name":"李医生",
  "diagnoses":[{"code":"J06.900","name":"急性上呼吸道感染"}]}'
echo "2. the HIS creates payment $ORD: an outpatient visit (全科医疗科, J06.900), three lines, 300.00 yuan"
api "http://$API/v1/payments" -d '{"org_code":"'$ORG'","med_org_ord":"'$ORD'","scene":"outpatient","auth_code":"'"$AUTH"'","openid":"o-demo",
  "lines":[{"code":"H-ZC01","catalogue_code":"001102000010000","name":"普通门诊诊查费","quantity":"1","unit_price_fen":1000,"amount_fen":1000},
           {"code":"H-XY0321","catalogue_code":"XJ01CAA040A001010101445","name":"阿莫西林胶囊 0.25g","quantity":"2","unit_price_fen":1450,"amount_fen":2900},
           {"code":"H-JC0112","catalogue_code":"002502000010000","name":"胸部CT平扫","quantity":"1","unit_price_fen":26100,"amount_fen":26100}],
  '"$VISIT"'}' >/dev/null
wait_for "$P" state PreSettled 60
echo "3. pre-settled: fund $(api "http://$API$P" | field fund_fen) fen, personal account $(api "http://$API$P" | field psn_acct_fen) fen, self-pay $(api "http://$API$P" | field own_pay_fen) fen"
api "http://$API$P/confirm" -d '{"confirm":true}' >/dev/null
for _ in $(seq 1 240); do MIX=$(api "http://$API$P" | field workflow cashier mix_trade_no); [ -n "$MIX" ] && break; sleep 0.25; done
echo "4. confirmed; mixed order $MIX open at the cashier; the patient pays"
sandbox -d '{"mix_trade_no":"'"$MIX"'"}' "https://$SANDBOX/sandbox/patient/pay" >/dev/null
wait_for "$P" state Paid 60
SETTLED=$(api "http://$API$P" | field workflow settled_by)
case "$SETTLED" in
  callback) HOW="the bank's callback, verified" ;;
  query) HOW="the compensating query: no callback arrived in time" ;;
  late_callback) HOW="a late callback, after it was pending" ;;
  reconciliation) HOW="the day's reconciliation" ;;
  *) HOW="a source the workflow did not report" ;;
esac
echo "5. paid (settled by $HOW); Temporal UI: workflow pay-$ORG-$ORD"
api "http://$API/v1/refunds" -d '{"org_code":"'$ORG'","med_org_ord":"'$ORD'","refund_no":"R'$ORD'","cash_fen":1000,"reason":"demo"}' >/dev/null
wait_for "/v1/refunds/$ORG/R$ORD" state Refunded 60
echo "6. refunded 10.00 yuan of the self-pay part at the bank, channel notified (workflow refund-$ORG-R$ORD)"
if [ -n "${MEDPAY_RECON_SFTP_HOST:-}" ]; then
  DAY=$(TZ=Asia/Shanghai date +%F)
  sandbox -d '{"kind":"selfpay","period":"'$DAY'"}' "https://$SANDBOX/sandbox/control/statements" >/dev/null
  echo "7. today's self-pay reconciliation ($DAY), statement fetched over SFTP:"
  "${MEDPAY_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/medpay}" recon run --kind selfpay --org $ORG --period "$DAY"
else
  echo "7. today's reconciliation NOT run: medpay has no SFTP server for statements (MEDPAY_RECON_SFTP_HOST is unset;"
  echo "   scripts/run.sh starts the sandbox's SFTP server only as root with openssh-server installed)"
fi
LINK=$(api "http://$API/v1/payments/$ORG/$ORD-PAGE/patient-link" -d '{"bill":{"scene":"outpatient","openid":"o-demo",
  "lines":[{"code":"H-ZC01","catalogue_code":"001102000010000","name":"普通门诊诊查费","quantity":"1","unit_price_fen":1000,"amount_fen":1000},
           {"code":"H-ZY0087","catalogue_code":"ZA01BAF0123010103781","name":"复方甘草片","quantity":"0.5","unit_price_fen":1760,"amount_fen":880}],
  '"$VISIT"'}}' | field url)
echo "8. the patient's page for another bill (REQ E-4.4, care mode on its first screen): open in a browser"
echo "   $LINK"
echo "   (the sandbox's pages use its own CA: accept it, or start the browser with --ignore-certificate-errors)"
echo "demo: done"
