#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, and the whole test suite.
# Installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests never reach beyond 127.0.0.1: no AWS, no instance metadata.
export AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1

if ! command -v rustfmt >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

# Test peers from Debian packages: promtool (package prometheus) checks the /metrics
# exposition; openssl makes a throwaway certificate and curl fetches /metrics over TLS.
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# Alertmanager, for the alerting test (tests/it/alerting.rs: Prometheus + Alertmanager
# against the daemon with deploy/prometheus/rules.yml).
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The overview page test renders / in a real headless browser; the deploy test verifies the
# systemd unit with systemd-analyze (package systemd).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]} (Debian packages)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# moto, a fake AWS served on 127.0.0.1, for the AWS source tests (tests/it/aws.rs starts
# it itself). Installed from PyPI into a venv under target/, reused when present.
MOTO_VENV=target/moto-venv
if ! "$MOTO_VENV/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  echo "== installing moto[server] into $MOTO_VENV (PyPI)"
  if ! python3 -m venv --clear "$MOTO_VENV" >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv --clear "$MOTO_VENV"
  fi
  "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<6'
fi
# cbor2, for the CloudWatch CBOR translator in front of moto (tests/support/cw_cbor_shim.py,
# started by tests/it/cloudwatch_metrics.rs).
if ! "$MOTO_VENV/bin/python" -c 'import cbor2' >/dev/null 2>&1; then
  echo "== installing cbor2 into $MOTO_VENV (PyPI)"
  "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check 'cbor2>=5,<7'
fi
export MOTO_PYTHON="$PWD/$MOTO_VENV/bin/python"

# The dashboards' type check (tests/it/dashboards.rs): @grafana/schema and typescript from
# npm, pinned, into target/grafana-check, reused when present.
GRAFANA_CHECK=target/grafana-check
if [ ! -x "$GRAFANA_CHECK/node_modules/.bin/tsc" ] || [ ! -f "$GRAFANA_CHECK/node_modules/@grafana/schema/package.json" ]; then
  echo "== installing @grafana/schema and typescript into $GRAFANA_CHECK (npm)"
  mkdir -p "$GRAFANA_CHECK"
  npm install --prefix "$GRAFANA_CHECK" --no-audit --no-fund --no-save --silent @grafana/schema@13.2.3 typescript@5.9.3
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets
