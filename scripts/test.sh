#!/usr/bin/env bash
# `npm test`: the whole suite, on a fresh machine too. Installs what is missing (Debian's packages
# when run as root, the npm packages), starts the machine's PostgreSQL when it is installed but
# stopped, then builds and runs the Node tests (storage, HTTP, models, the map page in Chromium)
# and the trainer tests. Set GROUNDVIEW_TEST_NO_INSTALL=1 to only report what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive ONNXRUNTIME_NODE_INSTALL=skip CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1

# GDAL (import-raster, sample area), PostGIS (server-mode storage tests), Chromium (map page),
# and Debian's PyTorch stack for the trainer tests (PyPI is not reachable from these machines).
debs=(gdal-bin python3-gdal postgresql-15-postgis-3 chromium python3-torch python3-torchvision python3-onnx python3-numpy python3-pil
  python3-pytest)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${GROUNDVIEW_TEST_NO_INSTALL:-}" ]; then
    echo "test: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test: missing Debian packages: ${missing[*]}" >&2
    echo "test: install them with: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Server-mode storage tests run against the machine's PostgreSQL (each test makes its own
# database). Started here when installed but stopped; without it they are skipped, and said so.
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q && [ -d /etc/postgresql ] && [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    export TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres
  else
    echo "test: no PostgreSQL at 127.0.0.1:5432: server-mode storage tests are skipped" >&2
  fi
fi

# npm packages: installed from the lock file when absent or older than it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run build
npm run test:node
npm run test:trainer
