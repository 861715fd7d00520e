#!/usr/bin/env bash
# Starts and stops the development sinks and the three services as background processes.
#   infra/services.sh start | stop
# Logs: var/log/<name>.log (JSON lines). Pids: var/run/<name>.pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
var="$root/var"
mkdir -p "$var/log" "$var/run" "$var/dev"

# Development token issuers, one per state and a national one for auditors (their keys in
# var/dev/token-keys), and the trust file the services read; real deployments trust the
# states' identity services instead (docs/security.md).
.venv/bin/prahari-token-keys --dir "$var/dev/token-keys" --trust "$var/dev/token-trust.json"
export PRAHARI_TOKEN_TRUST=${PRAHARI_TOKEN_TRUST:-$var/dev/token-trust.json}
export DATABASE_URL=${DATABASE_URL:-$(infra/postgres.sh url)}
export PRAHARI_UNIT_DIRECTORY=${PRAHARI_UNIT_DIRECTORY:-$root/infra/dev/units.json}
export PRAHARI_SMS_GATEWAY_URL=${PRAHARI_SMS_GATEWAY_URL:-http://127.0.0.1:8090/sms}
export PRAHARI_SMS_FALLBACK_URL=${PRAHARI_SMS_FALLBACK_URL:-http://127.0.0.1:8091/sms}
export PRAHARI_SMTP_FALLBACK=${PRAHARI_SMTP_FALLBACK:-127.0.0.1:8026}
export PRAHARI_TRACE_FILE=${PRAHARI_TRACE_FILE:-$var/log/traces.jsonl}
[ -f "$var/dev/sms-webhook-secret" ] || head -c 24 /dev/urandom | base64 | tr -d '\n=/+' >"$var/dev/sms-webhook-secret"
export PRAHARI_SMS_WEBHOOK_SECRET=${PRAHARI_SMS_WEBHOOK_SECRET:-$(cat "$var/dev/sms-webhook-secret")}
# The development gateways sign their delivery reports to notify with this.
[ -f "$var/dev/sms-receipt-secret" ] || head -c 24 /dev/urandom | base64 | tr -d '\n=/+' >"$var/dev/sms-receipt-secret"
export PRAHARI_SMS_RECEIPT_SECRET=${PRAHARI_SMS_RECEIPT_SECRET:-$(cat "$var/dev/sms-receipt-secret")}
# Each service signs its checkpoints with a key of its own; auditors check them against the
# trust file (prahari-audit verify --trust, or PRAHARI_AUDIT_TRUST).
for service in cases notify; do
  .venv/bin/prahari-checkpoint-key --service $service --key "$var/dev/keys/$service.pem" \
    --trust "$var/dev/checkpoint-trust.json" >/dev/null
done
export PRAHARI_CASES_CHECKPOINT_KEY=${PRAHARI_CASES_CHECKPOINT_KEY:-$var/dev/keys/cases.pem}
export PRAHARI_NOTIFY_CHECKPOINT_KEY=${PRAHARI_NOTIFY_CHECKPOINT_KEY:-$var/dev/keys/notify.pem}

declare -A port=([devsinks]=8090 [intake]=8081 [cases]=8082 [notify]=8083)
declare -A cmd=(
  [devsinks]="prahari-devsinks --dir $var/dev --receipt-url http://127.0.0.1:8083/v1/receipts/sms"
  [intake]="prahari-intake"
  [cases]="prahari-cases"
  [notify]="prahari-notify"
)
order=(devsinks intake cases notify)

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  for name in "${order[@]}"; do
    if answers "${port[$name]}"; then echo "services.sh: $name already answers on ${port[$name]}"; continue; fi
    # Each service connects as its own role, which may not change history nor the schema
    # (prahari-migrate, run by ./dev up as the owner, did that).
    url=$DATABASE_URL
    [ "$name" = devsinks ] || url=$(infra/postgres.sh url "prahari_$name")
    (
      # On an authenticated broker (PRAHARI_KAFKA_SECURITY=sasl_ssl) each service connects
      # as its own principal, which the ACLs let write only its own topics.
      [ "$name" = devsinks ] || eval "$(infra/kafka.sh env "$name")"
      # shellcheck disable=SC2086
      DATABASE_URL=$url nohup .venv/bin/${cmd[$name]} >>"$var/log/$name.log" 2>&1 </dev/null &
      echo $! >"$var/run/$name.pid"
    )
  done
  for name in intake cases notify; do
    for _ in $(seq 1 120); do
      if curl -fs "http://127.0.0.1:${port[$name]}/readyz" >/dev/null 2>&1; then break; fi
      if ! kill -0 "$(cat "$var/run/$name.pid" 2>/dev/null || echo 0)" 2>/dev/null && ! answers "${port[$name]}"; then
        echo "services.sh: $name exited; last lines of var/log/$name.log:" >&2
        tail -n 20 "$var/log/$name.log" >&2; exit 1
      fi
      sleep 0.5
    done
    curl -fs "http://127.0.0.1:${port[$name]}/readyz" >/dev/null || { echo "services.sh: $name is not ready" >&2; exit 1; }
  done
}

stop() {
  for name in notify cases intake devsinks; do
    local pidfile="$var/run/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"  # graceful: finish in-flight work, commit offsets, close clients
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
