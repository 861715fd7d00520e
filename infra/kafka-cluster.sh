#!/usr/bin/env bash
# A three-broker Apache Kafka cluster (KRaft: each node broker and controller, a static
# quorum of the three) on loopback, from the same jars and script as the single node.
#   infra/kafka-cluster.sh start   format (once) and start the three nodes, wait for all
#   infra/kafka-cluster.sh stop    stop them
#   infra/kafka-cluster.sh status  exit 0 when all three answer
#   infra/kafka-cluster.sh bootstrap   print the clients' PRAHARI_KAFKA_BOOTSTRAP
# Settings: PRAHARI_KAFKA_CLUSTER_HOME (var/kafka-cluster; node N lives in node-N/) and
# PRAHARI_KAFKA_CLUSTER_PORT (19192): node N's client port is PORT+10*(N-1), its controller
# port the next one. Topics then take PRAHARI_KAFKA_REPLICATION=3 PRAHARI_KAFKA_MIN_INSYNC=2
# (prahari-topics), and the services refuse to start on topics replicated less.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
home=${PRAHARI_KAFKA_CLUSTER_HOME:-$root/var/kafka-cluster}
base=${PRAHARI_KAFKA_CLUSTER_PORT:-19192}
nodes=(1 2 3)

port_of() { echo $((base + 10 * ($1 - 1))); }
voters() {
  local n list=()
  for n in "${nodes[@]}"; do list+=("$n@127.0.0.1:$(($(port_of "$n") + 1))"); done
  (IFS=,; echo "${list[*]}")
}
node() {
  local n=$1; shift
  PRAHARI_KAFKA_HOME="$home/node-$n" PRAHARI_KAFKA_PORT=$(port_of "$n") \
    PRAHARI_KAFKA_NODE_ID=$n PRAHARI_KAFKA_VOTERS=$(voters) \
    PRAHARI_KAFKA_CLUSTER_ID=$(cat "$home/cluster-id") "$here/kafka.sh" "$@"
}

start() {
  "$here/kafka.sh" fetch
  mkdir -p "$home"
  if [ ! -f "$home/cluster-id" ]; then
    # Any 16 bytes, base64url without padding, as StorageTool random-uuid prints.
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$home/cluster-id"
  fi
  # Together: no node answers its clients before the quorum has formed.
  local n pids=() failed=0
  for n in "${nodes[@]}"; do node "$n" start & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  [ "$failed" = 0 ] || { echo "kafka-cluster.sh: a node did not start; see $home/node-*/log/kafka.log" >&2; exit 1; }
  echo "kafka-cluster.sh: three brokers answer on $(bootstrap)"
}

bootstrap() {
  local n list=()
  for n in "${nodes[@]}"; do list+=("127.0.0.1:$(port_of "$n")"); done
  (IFS=,; echo "${list[*]}")
}

case "${1:-}" in
  start) start ;;
  stop) for n in "${nodes[@]}"; do [ -f "$home/cluster-id" ] && node "$n" stop; done ;;
  status) for n in "${nodes[@]}"; do node "$n" status; done ;;
  bootstrap) bootstrap ;;
  *) echo "usage: $0 start|stop|status|bootstrap" >&2; exit 2 ;;
esac
