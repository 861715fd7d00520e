#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft) from the official jars on Maven Central, without Docker.
#   infra/kafka.sh start   fetch jars once (cached outside git), format storage once, start, wait
#   infra/kafka.sh stop    stop the broker started from this checkout
#   infra/kafka.sh status  exit 0 when the broker answers on 127.0.0.1:9092
# Logs: var/log/kafka.log. Data: var/kafka/. Jar cache: $PRAHARI_CACHE (default ~/.cache/prahari).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${PRAHARI_CACHE:-$HOME/.cache/prahari}
libs="$cache/kafka-$version/libs"
var="$root/var"
data="$var/kafka"
pidfile="$var/run/kafka.pid"
log="$var/log/kafka.log"
port=9092

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

fetch() {
  [ -f "$libs/.complete" ] && return
  command -v mvn >/dev/null || { echo "kafka.sh: Maven is needed to fetch the Kafka jars" >&2; exit 1; }
  command -v java >/dev/null || { echo "kafka.sh: Java 17+ is needed" >&2; exit 1; }
  echo "kafka.sh: fetching Apache Kafka $version jars from Maven Central into $libs"
  rm -rf "$libs" && mkdir -p "$libs"
  # A pinned plugin version: Maven 3.8's default dependency plugin is old.
  mvn -B -q -f "$here/kafka/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

start() {
  if answers; then echo "kafka.sh: Kafka already answers on 127.0.0.1:$port"; return; fi
  fetch
  mkdir -p "$data" "$var/run" "$var/log"
  local cp="$libs/*" props="$var/kafka.properties"
  # The data directory lives in this checkout, so the settings file is written per checkout.
  { cat "$here/kafka/server.properties"; echo "log.dirs=$data"; } >"$props"
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -cp "$cp" kafka.tools.StorageTool format --standalone -g -t "$cluster_id" \
      -c "$props" >>"$log" 2>&1
  fi
  # A small heap: the machine has 2 cores and also runs PostgreSQL and the services.
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.yaml" -Dkafka.logs.dir="$var/log" \
    -cp "$cp" kafka.Kafka "$props" \
    >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then echo "kafka.sh: Kafka $version answers on 127.0.0.1:$port (log: $log)"; return; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "kafka.sh: the broker exited; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "kafka.sh: the broker did not answer within 60 s; see $log" >&2
  exit 1
}

stop() {
  [ -f "$pidfile" ] || { echo "kafka.sh: no broker started from this checkout"; return; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
  echo "kafka.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
