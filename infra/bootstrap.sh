#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian or Ubuntu machine, and nothing twice:
# system packages (only those missing), then .venv with exactly the versions in
# requirements.lock (hash-checked), then the project's own packages in editable mode.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need=()
python_ok() { python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
python_ok || need+=(python3 python3-venv)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v runuser >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
# openssl makes the authenticated broker's certificates (infra/kafka.sh, sasl_ssl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.lock-$(sha256sum requirements.lock | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages from requirements.lock" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
  rm -f .venv/.lock-* && touch "$stamp"
fi
if [ ! -f .venv/.editable ] || [ -n "$(find libs services -name pyproject.toml -newer .venv/.editable)" ]; then
  # --no-deps: every dependency came from the lock above; --no-build-isolation: build with
  # the locked setuptools instead of fetching whatever is newest.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
    -e libs/events -e libs/devsinks -e services/intake -e services/cases -e services/notify \
    -e libs/audit
  touch .venv/.editable
fi
