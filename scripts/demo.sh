#!/usr/bin/env bash
# The C magent how-to's cluster on one machine, and its test transcript played through it:
#   three memcached on 127.0.0.1 (two mains, one backup) and two magent proxies over them, as the
#   how-to ran on three machines (51, 52 main, 68 backup; a magent on 51 and on 52).
#
#   scripts/demo.sh            builds magent and installs what is missing (memcached, a JDK, Maven,
#                              nc) with apt-get, starts everything,
#                              plays the transcript, then keeps running until Ctrl-C
#   DEMO_WAIT=0 scripts/demo.sh   stops everything right after the transcript
#
# Ports (defaults stay clear of a system memcached on 11211):
#   MAIN1_PORT=21211 MAIN2_PORT=21212 BACKUP_PORT=21213 PROXY1_PORT=21200 PROXY2_PORT=21201
# Everything this script starts is stopped, by PID, when it exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAIN1=${MAIN1_PORT:-21211}
MAIN2=${MAIN2_PORT:-21212}
BACKUP=${BACKUP_PORT:-21213}
PROXY1=${PROXY1_PORT:-21200}
PROXY2=${PROXY2_PORT:-21201}
JAR=magent-cli/target/magent.jar

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

# --- what a fresh Debian machine lacks --------------------------------------------------------
packages=()
command -v memcached >/dev/null || packages+=(memcached)
command -v javac >/dev/null || packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || packages+=(maven)
command -v nc >/dev/null || packages+=(netcat-openbsd) # to type at the proxies afterwards
if (( ${#packages[@]} )); then
  as_admin=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "please install as root: apt-get install -y ${packages[*]}"
    as_admin=(sudo)
  fi
  say "installing ${packages[*]}"
  "${as_admin[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 ||
    { "${as_admin[@]}" apt-get update -q >/dev/null &&
      "${as_admin[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >/dev/null; } ||
    die "could not install ${packages[*]}"
fi
# Debian starts a memcached service on 11211 when it installs the package; the demo does not use it.

if [[ ! -f $JAR ]] || [[ -n $(find magent-*/src/main pom.xml magent-*/pom.xml -newer "$JAR" -print -quit) ]]; then
  say "building magent: mvn -B -q -DskipTests package -pl magent-cli -am"
  mvn -B -q -DskipTests package -pl magent-cli -am
fi

# --- start the how-to's topology ---------------------------------------------------------------
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$MAIN1" "$MAIN2" "$BACKUP" "$PROXY1" "$PROXY2"; do
  if listening "$port"; then
    die "port $port is already in use; choose others with MAIN1_PORT, MAIN2_PORT, BACKUP_PORT, PROXY1_PORT, PROXY2_PORT"
  fi
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/magent-demo.XXXXXX")
declare -A pid=()
stop_all() {
  trap - EXIT INT TERM
  echo
  echo "stopping the demo (logs stay in $logs)"
  for name in "${!pid[@]}"; do
    kill "${pid[$name]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# memcached refuses to run as root without -u root
as_user=()
[[ $(id -u) -eq 0 ]] && as_user=(-u root)
start_memcached() { # name port
  memcached "${as_user[@]}" -U 0 -l 127.0.0.1 -p "$2" -m 64 -c 1024 >"$logs/$1.log" 2>&1 &
  pid[$1]=$!
}
start_magent() { # name port
  bin/magent -l 127.0.0.1 -p "$2" -n 4096 \
    -s 127.0.0.1:"$MAIN1" -s 127.0.0.1:"$MAIN2" -b 127.0.0.1:"$BACKUP" >"$logs/$1.log" 2>&1 &
  pid[$1]=$!
}
await_port() { # name port: bounded wait, 30 s
  local _
  for _ in $(seq 1 300); do
    listening "$2" && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || { cat "$logs/$1.log" >&2; die "$1 exited before listening on $2 (log above)"; }
    sleep 0.1
  done
  die "$1 did not listen on port $2 within 30 s; see $logs/$1.log"
}

start_memcached main1 "$MAIN1"
start_memcached main2 "$MAIN2"
start_memcached backup "$BACKUP"
await_port main1 "$MAIN1"
await_port main2 "$MAIN2"
await_port backup "$BACKUP"
start_magent magent1 "$PROXY1"
start_magent magent2 "$PROXY2"
await_port magent1 "$PROXY1"
await_port magent2 "$PROXY2"

# --- the how-to's transcript -------------------------------------------------------------------
# mc PORT REQUEST...: one connection (like telnet), each request a line; prints what was typed and
# what came back. quit at the end makes the server close, so reading ends without guessing.
mc() {
  local port=$1; shift
  local request=""
  for line in "$@"; do request+="$line"$'\r\n'; done
  printf '%s\n' "$@" | sed 's/^/  > /'
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%squit\r\n' "$request" >&3
  timeout 10 cat <&3 | tr -d '\r' | sed 's/^/  /' || true
  exec 3<&- 3>&-
}

say "memcached: mains 127.0.0.1:$MAIN1 and 127.0.0.1:$MAIN2, backup 127.0.0.1:$BACKUP"
say "magent: 127.0.0.1:$PROXY1 and 127.0.0.1:$PROXY2, each started as:"
echo "  bin/magent -l 127.0.0.1 -p $PROXY1 -n 4096 -s 127.0.0.1:$MAIN1 -s 127.0.0.1:$MAIN2 -b 127.0.0.1:$BACKUP"

say "1. Through the first magent ($PROXY1): the server matrix, then store key1 to key5"
mc "$PROXY1" "stats" | grep -E '>|matrix' || true
mc "$PROXY1" "set key1 0 0 1" "1" "set key2 0 0 2" "22" "set key3 0 0 3" "333" \
  "set key4 0 0 4" "4444" "set key5 0 0 5" "55555"

say "2. Directly on main 1 ($MAIN1): only its shard (key2, key4)"
mc "$MAIN1" "get key1 key2 key3 key4 key5"
say "   Directly on main 2 ($MAIN2): the other shard (key1, key3, key5)"
mc "$MAIN2" "get key1 key2 key3 key4 key5"
say "   Directly on the backup ($BACKUP): every key"
mc "$BACKUP" "get key1 key2 key3 key4 key5"

say "3. Kill main 2 (kill ${pid[main2]}); through the second magent ($PROXY2) every key still answers"
kill "${pid[main2]}"
wait "${pid[main2]}" 2>/dev/null || true
mc "$PROXY2" "get key1 key2 key3 key4 key5"

say "4. Restart main 2, empty. C magent now answered only key2 and key4; magent answers all five from
   the backup and copies key1, key3, key5 back to main 2"
start_memcached main2 "$MAIN2"
await_port main2 "$MAIN2"
# the second magent saw main 2 fail; it probes it with growing delays (at most 5 s) and uses it again
# once it answers
for _ in $(seq 1 150); do
  mc "$PROXY2" "stats" | grep -q "127.0.0.1:$MAIN2 role=main state=up" && break
  sleep 0.1
done
mc "$PROXY2" "get key1 key2 key3 key4 key5"
say "   Directly on main 2 again: refilled"
mc "$MAIN2" "get key1 key2 key3 key4 key5"

cat <<MSG

Your turn: connect to a proxy and type memcached commands (set, get, delete, incr, stats, ...):
  nc 127.0.0.1 $PROXY1          (or: telnet 127.0.0.1 $PROXY1, or the second proxy on $PROXY2)
Stop a server and watch the proxies fail over:  kill ${pid[main1]}   (main 1)   kill ${pid[backup]}   (the backup)
Logs: $logs
MSG

if [[ ${DEMO_WAIT:-1} == 0 ]] || [[ ! -t 0 ]]; then
  exit 0
fi
say "Running; press Ctrl-C to stop everything."
while true; do sleep 3600; done
