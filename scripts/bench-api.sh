#!/usr/bin/env bash
# Measures token-authenticated reads against `nimbus dev` with wrk (Debian
# package `wrk`) at 32 connections, from a process of its own.
#
#   scripts/bench-api.sh [--db DSN] [--duration 10s]
#
# It starts `nimbus dev` on a scratch data directory, logs in, registers a
# second host, and loads GET /api/v1/tenants and GET /api/v1/hosts/NAME with
# one and with two wrk threads, then with `nimbus bench api`. Set GOGC to
# compare garbage-collector settings (the server defaults to 400).
set -euo pipefail
cd "$(dirname "$0")/.."
db=""
duration=10s
while [ $# -gt 0 ]; do
	case $1 in
	--db) db=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	*) echo "usage: $0 [--db DSN] [--duration 10s]" >&2; exit 2 ;;
	esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
go build -o bin/nimbus ./cmd/nimbus
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
export XDG_CONFIG_HOME=$work/config NIMBUS_ADMIN_PASSWORD=bench-admin-1 NIMBUS_PASSWORD=bench-admin-1
args=(dev --data-dir "$work/data" --addr 127.0.0.1:7090 --log-level warn)
[ -n "$db" ] && args+=(--db "$db")
./bin/nimbus "${args[@]}" >/dev/null 2>&1 &
pid=$!
until curl -sf -o /dev/null http://127.0.0.1:7090/readyz; do sleep 0.05; done
./bin/nimbus login --server http://127.0.0.1:7090 --username admin >/dev/null
./bin/nimbus host create bench-host-1 --cluster default --cpu 16 --memory-mib 65536 --disk-mib 1000000 \
	--network-mbps 10000 --label zone=a >/dev/null
token=$(sed -n 's/.*"token": "\(.*\)".*/\1/p' "$XDG_CONFIG_HOME/nimbus/credentials.json")
for path in /api/v1/tenants /api/v1/hosts/bench-host-1; do
	for threads in 1 2; do
		printf '%s wrk -t%d -c32 -d%s: ' "$path" "$threads" "$duration"
		wrk -t"$threads" -c32 -d"$duration" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:7090$path" |
			awk '/ 50%/{p50=$2} / 99%/{p99=$2} /Requests\/sec/{rps=$2} /Non-2xx/{bad=$NF} END{printf "%s req/s, p50 %s, p99 %s%s\n", rps, p50, p99, bad ? ", NON-2xx " bad : ""}'
	done
	printf '%s nimbus bench api -c 32 -d %s: ' "$path" "$duration"
	./bin/nimbus bench api --server http://127.0.0.1:7090 --path "$path" -c 32 -d "$duration"
done
