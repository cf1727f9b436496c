#!/usr/bin/env bash
# The README's "Pair two nodes on one machine" walkthrough, non-interactively: two fresh gwd
# processes, SSL pairing (certificates pre-approved from files, the connection approved on the
# master), a synced pair in which the backup's effective opc-connection/plc1 is its Backup version,
# then a failover to the backup and back.
#
#   examples/pair-on-localhost.sh [WORKDIR]
#
# WORKDIR (default: a new temp dir) receives node-a/ and node-b/. Ports: PORT_A, SSL_A, PORT_B,
# SSL_B (defaults 8088, 8060, 8089, 8061). Both daemons are stopped when the script ends.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GWD="$ROOT/bin/gwd"
GWCTL="$ROOT/bin/gwctl"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/gwd-pair-XXXXXX")}"
PORT_A="${PORT_A:-8088}" SSL_A="${SSL_A:-8060}" PORT_B="${PORT_B:-8089}" SSL_B="${SSL_B:-8061}"
mkdir -p "$WORK"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

a() { "$GWCTL" --socket "$WORK/node-a/gwd.sock" "$@"; }
b() { "$GWCTL" --socket "$WORK/node-b/gwd.sock" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "start plant-a (master) and plant-b (backup)"
"$GWD" --data-dir "$WORK/node-a" --system-name plant-a --port "$PORT_A" --ssl-port "$SSL_A" --bind 127.0.0.1 >"$WORK/plant-a.log" 2>&1 &
pids+=($!)
"$GWD" --data-dir "$WORK/node-b" --system-name plant-b --port "$PORT_B" --ssl-port "$SSL_B" --bind 127.0.0.1 >"$WORK/plant-b.log" 2>&1 &
pids+=($!)
a wait --ready --timeout 30
b wait --ready --timeout 30

step "roles: plant-a master, plant-b backup dialling the master's SSL port"
a redundancy configure --mode master --ping-rate 200 >/dev/null
b redundancy configure --mode backup --master-address "127.0.0.1:$SSL_A" --ssl --ping-rate 200 --reconnect-period 200 >/dev/null

step "trust: each node's certificate pre-approved on the other (no pending step)"
a node cert >"$WORK/plant-a.pem"
b node cert >"$WORK/plant-b.pem"
b certs trust --direction outgoing --file "$WORK/plant-a.pem"
a certs trust --direction incoming --file "$WORK/plant-b.pem"

step "approve the backup's connection on the master"
for _ in $(seq 1 100); do
  if a connections approve plant-b >/dev/null 2>&1; then break; fi
  sleep 0.1
done
a connections approve plant-b
b wait --peer-connected --synced --timeout 30
b status

step "one configuration: a PLC connection with a Backup version, edited on the master"
echo '{"endpointUrl": "opc.tcp://10.0.1.5:4840"}' >"$WORK/plc1.json"
echo '{"endpointUrl": "opc.tcp://10.0.2.5:4840"}' >"$WORK/plc1-backup.json"
a config set opc-connection/plc1 --file "$WORK/plc1.json"
a config backup add opc-connection/plc1 --file "$WORK/plc1-backup.json"
a wait --synced --timeout 30
echo "effective on plant-a (master):"
a config get opc-connection/plc1 --version effective | grep endpointUrl
echo "effective on plant-b (backup):"
b config get opc-connection/plc1 --version effective | grep endpointUrl
b config get opc-connection/plc1 --version effective | grep -q '10.0.2.5' || { echo "plant-b does not apply its Backup version" >&2; exit 1; }
[ "$(b --json status | grep -c '"systemName": "plant-a"')" -ge 1 ] || { echo "plant-b did not take the master's system name" >&2; exit 1; }

step "failover: plant-b becomes Active, then control goes back to plant-a"
a redundancy failover --wait --timeout 30
b wait --activity active --timeout 30
b redundancy failover --wait --timeout 30
a wait --activity active --timeout 30
b wait --activity standby --synced --timeout 30

step "done: a synced pair, plant-a Active"
a status
