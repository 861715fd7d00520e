#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft) from the official jars on Maven Central, without Docker.
#   infra/kafka.sh start   fetch jars once (cached outside git), format storage once, start, wait
#   infra/kafka.sh stop    stop the broker started from this checkout (or this home)
#   infra/kafka.sh status  exit 0 when the broker answers on its port
#   infra/kafka.sh fetch   only fetch the jars
#   infra/kafka.sh acls    list the broker's ACLs (sasl_ssl only)
#   infra/kafka.sh env P   print `export PRAHARI_KAFKA_...` lines for a client connecting as
#                          principal P (admin, intake, cases, notify, audit)
# Jar cache: $PRAHARI_CACHE (default ~/.cache/prahari), one folder per version of the POM.
#
# Settings (environment), so that tests can start brokers of their own:
#   PRAHARI_KAFKA_HOME      where data, logs, the pid, certificates and secrets go (var/)
#   PRAHARI_KAFKA_PORT      the client listener on 127.0.0.1 (9092); the controller's is the next
#   PRAHARI_KAFKA_SECURITY  plaintext (the development default) or sasl_ssl: SASL SCRAM-SHA-512
#                           over TLS, the ACLs of docs/security.md, and no anonymous client
#   PRAHARI_TOPIC_PREFIX    the topic prefix the ACLs are written for (sasl_ssl)
#   PRAHARI_KAFKA_NODE_ID, PRAHARI_KAFKA_VOTERS, PRAHARI_KAFKA_CLUSTER_ID
#                           one member of a cluster (infra/kafka-cluster.sh sets them): its
#                           node id, the static controller quorum (1@127.0.0.1:9093,...) and
#                           the cluster id all members are formatted with
# With sasl_ssl the first start makes, under $PRAHARI_KAFKA_HOME/kafka-tls/, a CA and the
# broker's certificate (PEM, openssl), and under kafka-secrets/ one password per principal
# (admin, intake, cases, notify, audit; mode 0600), created as SCRAM users at format time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${PRAHARI_CACHE:-$HOME/.cache/prahari}
# The POM's digest names the folder: adding a jar to the POM fetches again.
pom_digest=$(sha256sum "$here/kafka/pom.xml" | cut -c1-12)
libs="$cache/kafka-$version-$pom_digest/libs"
home=${PRAHARI_KAFKA_HOME:-$root/var}
port=${PRAHARI_KAFKA_PORT:-9092}
controller_port=$((port + 1))
security=${PRAHARI_KAFKA_SECURITY:-plaintext}
node_id=${PRAHARI_KAFKA_NODE_ID:-1}
voters=${PRAHARI_KAFKA_VOTERS:-}
data="$home/kafka"
pidfile="$home/run/kafka.pid"
log="$home/log/kafka.log"
tls="$home/kafka-tls"
secrets="$home/kafka-secrets"
# The SCRAM users: the admin, and those of the ACL matrix (services, audit, each state).
principals() { echo admin; "$root/.venv/bin/prahari-kafka-acls" --principals; }

case "$security" in
  plaintext | sasl_ssl) ;;
  *) echo "kafka.sh: PRAHARI_KAFKA_SECURITY must be plaintext or sasl_ssl, not $security" >&2; exit 2 ;;
esac

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

# A CA and a broker certificate for 127.0.0.1 and localhost, PEM. The broker's key is PKCS#8
# and unencrypted (Kafka reads such a PEM file since 3.3): the file is 0600 in a folder that
# only this user can enter, as the SCRAM passwords are.
certificates() {
  [ -f "$tls/broker.pem" ] && return
  command -v openssl >/dev/null || { echo "kafka.sh: openssl is needed for sasl_ssl" >&2; exit 1; }
  (umask 077 && mkdir -p "$tls")
  local days=3650
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$tls/ca.key" -sha256 -days "$days" -subj "/CN=Prahari dev Kafka CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tls/ca.pem" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/broker.key" 2>/dev/null
  openssl req -new -key "$tls/broker.key" -subj "/CN=127.0.0.1" -out "$tls/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
    >"$tls/broker.ext"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$tls/broker.ext" -out "$tls/broker.crt" 2>/dev/null
  cat "$tls/broker.key" "$tls/broker.crt" "$tls/ca.pem" >"$tls/broker.pem"
  chmod 600 "$tls"/*.key "$tls/broker.pem"
  rm -f "$tls/broker.csr" "$tls/broker.ext"
}

passwords() {
  (umask 077 && mkdir -p "$secrets")
  local p
  for p in $(principals); do
    [ -f "$secrets/$p.password" ] || (umask 077 && openssl rand -hex 24 >"$secrets/$p.password")
  done
  # What Kafka's own tools (AclCommand) need to connect as the admin principal.
  (umask 077 && cat >"$secrets/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$secrets/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
PROPS
  )
}

properties() {
  local props=$1
  sed -e "s/127.0.0.1:9092/127.0.0.1:$port/g" -e "s/127.0.0.1:9093/127.0.0.1:$controller_port/g" \
    "$here/kafka/server.properties" >"$props"
  echo "log.dirs=$data" >>"$props"
  if [ -n "$voters" ]; then
    sed -i '/^controller.quorum.bootstrap.servers=/d' "$props"
    # A member of a three-node cluster: a static quorum, and every internal topic and
    # every topic created without settings replicated three times, two in sync to accept.
    cat >>"$props" <<PROPS
node.id=$node_id
controller.quorum.voters=$voters
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
default.replication.factor=3
min.insync.replicas=2
PROPS
  fi
  [ "$security" = sasl_ssl ] || return 0
  # Later lines win in a properties file: these replace the plaintext listener. The
  # controller listener stays plaintext on loopback (its principal is ANONYMOUS, hence a
  # super user); clients can only reach the SASL_SSL one.
  cat >>"$props" <<PROPS
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$secrets/admin.password")";
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.endpoint.identification.algorithm=https
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
PROPS
  chmod 600 "$props"
}

format() {
  local cp=$1 props=$2 cluster_id=${PRAHARI_KAFKA_CLUSTER_ID:-}
  [ -n "$cluster_id" ] ||
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  local scram=() p
  if [ "$security" = sasl_ssl ]; then
    for p in $(principals); do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$(cat "$secrets/$p.password")]")
    done
  fi
  # --standalone: a quorum of this node alone; a cluster member's quorum is static.
  local mode=(--standalone)
  [ -z "$voters" ] || mode=()
  # --cluster-id=: an id is base64url and may begin with "-", which "-t <id>" would read as
  # an option (one cluster start in 64 failed so).
  java -cp "$cp" kafka.tools.StorageTool format "${mode[@]}" -g --cluster-id="$cluster_id" \
    -c "$props" "${scram[@]}" >>"$log" 2>&1
  echo "$security" >"$data/.prahari-security"
}

# The ACL matrix comes from prahari-kafka-acls (libs/events: one line of AclCommand options
# per grant); it is written once per start, and adding an ACL that exists is a no-op.
acls() {
  local cp=$1
  "$root/.venv/bin/prahari-kafka-acls" --prefix "${PRAHARI_TOPIC_PREFIX:-}" |
    java -cp "$cp" "$here/kafka/AddAcls.java" --bootstrap-server "127.0.0.1:$port" \
      --command-config "$secrets/admin.properties" --add --force >>"$log" 2>&1 || {
      echo "kafka.sh: writing the ACLs failed; see $log" >&2; exit 1
    }
}

start() {
  if answers; then echo "kafka.sh: Kafka already answers on 127.0.0.1:$port"; return; fi
  fetch
  mkdir -p "$data" "$home/run" "$home/log"
  local cp="$libs/*" props="$home/kafka.properties"
  if [ "$security" = sasl_ssl ]; then certificates; passwords; fi
  # The data directory lives in this checkout, so the settings file is written per checkout.
  properties "$props"
  [ -f "$data/meta.properties" ] || format "$cp" "$props"
  # SCRAM users are made at format time: a directory formatted for the other mode would
  # start a broker whose own inter-broker login fails.
  local formatted; formatted=$(cat "$data/.prahari-security" 2>/dev/null || echo plaintext)
  if [ "$formatted" != "$security" ]; then
    echo "kafka.sh: $data was formatted for $formatted, not $security: stop the broker and" \
      "remove it, or set PRAHARI_KAFKA_HOME to another folder" >&2
    exit 1
  fi
  # A small heap: the machine has 2 cores and also runs PostgreSQL and the services.
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.yaml" -Dkafka.logs.dir="$home/log" \
    -cp "$cp" kafka.Kafka "$props" \
    >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      if [ "$security" = sasl_ssl ]; then acls "$cp"; fi
      echo "kafka.sh: Kafka $version ($security) answers on 127.0.0.1:$port (log: $log)"
      return
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "kafka.sh: the broker exited; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "kafka.sh: the broker did not answer within 60 s; see $log" >&2
  exit 1
}

stop() {
  [ -f "$pidfile" ] || { echo "kafka.sh: no broker started from $home"; return; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
  echo "kafka.sh: stopped"
}

list_acls() {
  [ "$security" = sasl_ssl ] || { echo "kafka.sh: a plaintext broker has no ACLs" >&2; exit 2; }
  java -cp "$libs/*" org.apache.kafka.tools.AclCommand --bootstrap-server "127.0.0.1:$port" \
    --command-config "$secrets/admin.properties" --list
}

client_env() {
  local principal=${1:?usage: kafka.sh env PRINCIPAL}
  printf 'export PRAHARI_KAFKA_BOOTSTRAP=%q\n' "127.0.0.1:$port"
  printf 'export PRAHARI_KAFKA_SECURITY=%q\n' "$security"
  [ "$security" = sasl_ssl ] || return 0
  printf 'export PRAHARI_KAFKA_USER=%q\n' "$principal"
  printf 'export PRAHARI_KAFKA_PASSWORD_FILE=%q\n' "$secrets/$principal.password"
  printf 'export PRAHARI_KAFKA_CA=%q\n' "$tls/ca.pem"
}

case "${1:-}" in
  start) start ;;
  fetch) fetch ;;
  env) client_env "${2:-}" ;;
  stop) stop ;;
  status) answers ;;
  acls) list_acls ;;
  *) echo "usage: $0 start|stop|status|fetch|acls|env PRINCIPAL" >&2; exit 2 ;;
esac
