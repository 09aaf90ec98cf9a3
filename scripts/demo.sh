#!/usr/bin/env bash
# The how-to's cluster on one machine: three memcached (two mains, one backup) and two magent instances
# over them, all on 127.0.0.1. Builds what is missing, installs memcached if needed, and stops
# everything on Ctrl-C.   Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAIN1=${MAIN1_PORT:-21211}
MAIN2=${MAIN2_PORT:-21212}
BACKUP=${BACKUP_PORT:-21213}
PROXY1=${PROXY1_PORT:-21200}
PROXY2=${PROXY2_PORT:-21201}

if ! command -v memcached >/dev/null; then
  echo "installing memcached..."
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y memcached >/dev/null || { apt-get update >/dev/null && apt-get install -y memcached >/dev/null; }
  else sudo apt-get install -y memcached >/dev/null; fi
fi
if [[ ! -f magent-cli/target/magent.jar ]]; then
  echo "building magent (first run only)..."
  mvn -B -q -DskipTests package -pl magent-cli -am
fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "stopping demo..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

as_root=()
[[ $(id -u) -eq 0 ]] && as_root=(-u root)
for port in "$MAIN1" "$MAIN2" "$BACKUP"; do
  memcached "${as_root[@]}" -U 0 -l 127.0.0.1 -p "$port" -m 64 -c 1024 &
  pids+=($!)
done
for port in "$PROXY1" "$PROXY2"; do
  bin/magent -l 127.0.0.1 -p "$port" -n 4096 -s 127.0.0.1:"$MAIN1" -s 127.0.0.1:"$MAIN2" -b 127.0.0.1:"$BACKUP" &
  pids+=($!)
done

wait_for() { # bounded: 30 s
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2; exit 1
}
for port in "$MAIN1" "$MAIN2" "$BACKUP" "$PROXY1" "$PROXY2"; do wait_for "$port"; done

cat <<MSG

magent demo running (the how-to's topology on 127.0.0.1):
  memcached mains   127.0.0.1:$MAIN1  127.0.0.1:$MAIN2    backup 127.0.0.1:$BACKUP
  magent proxies    127.0.0.1:$PROXY1  127.0.0.1:$PROXY2

Connect with:   nc 127.0.0.1 $PROXY1      (or: telnet 127.0.0.1 $PROXY1)
Try the how-to's transcript:
  set key1 0 0 1      then 1        set key2 0 0 2   then 22    ... key5
  get key1 key2 key3 key4 key5      stats
  then stop a main:  kill the memcached on $MAIN2 (pkill -f 'memcached.*-p $MAIN2')
  get key1 key3 key5 still answer (from the backup); restart it and they are copied back.

Press Ctrl-C to stop everything.
MSG
wait
