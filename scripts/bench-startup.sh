#!/usr/bin/env bash
# Prints the milliseconds from exec of `nimbus dev --data-dir DIR` to
# GET /readyz answering 200. Run it on an empty DIR for a first start, again
# for a restart.
#
#   scripts/bench-startup.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: $0 DATA_DIR}
go build -o bin/nimbus ./cmd/nimbus
start=$(date +%s%N)
NIMBUS_ADMIN_PASSWORD=${NIMBUS_ADMIN_PASSWORD:-bench-admin-1} ./bin/nimbus dev --data-dir "$dir" --addr 127.0.0.1:7091 \
	--log-level warn >/dev/null 2>&1 &
pid=$!
until curl -sf -o /dev/null http://127.0.0.1:7091/readyz; do sleep 0.005; done
end=$(date +%s%N)
kill "$pid"
wait "$pid" 2>/dev/null || true
echo "$(((end - start) / 1000000)) ms"
