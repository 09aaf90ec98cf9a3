#!/usr/bin/env bash
# The C magent how-to's three hosts (51, 52: main memcached and a magent each; 68: the backup memcached)
# as three network namespaces on one machine, so that links between them can be cut and healed.
#
#   scripts/netns.sh up            build the namespaces, start memcached and magent in them
#   scripts/netns.sh down          stop everything started and delete the namespaces (idempotent)
#   scripts/netns.sh cut A B       cut the link between hosts A and B (51, 52, 68), both directions
#   scripts/netns.sh heal A B      heal it
#   scripts/netns.sh status        namespaces, processes, cut links, and what each host can reach
#   scripts/netns.sh kill SVC      SIGKILL a service: mc51 mc52 mc68 magent51 magent52
#   scripts/netns.sh start SVC     start it again (memcached comes back empty)
#   scripts/netns.sh pause SVC     SIGSTOP it; `resume SVC` sends SIGCONT
#   scripts/netns.sh pid SVC       its process id, if it runs
#   scripts/netns.sh socket HOST   the unix socket of the magent on HOST (51, 52)
#
# Needs root and iproute2 (`ip netns`, veth, bridge). Nothing touches the machine's own network: a fourth
# namespace (<prefix>sw) holds the bridge, each host namespace has one veth into it and one address in
# a private /24 (10.251.0.51, .52, .68 by default). Clients in the root namespace talk to each magent
# over its unix socket (-f), a file the namespaces do not hide, as a client on the same host would.
#
# A cut is a blackhole route on each side (`ip route add blackhole 10.251.0.52/32` in host51 and the
# reverse in host52): packets of established connections are dropped silently, so those connections
# hang as on a real cut, and new connects fail at once. `heal` deletes the routes.
#
# Settings (environment):
#   NETNS_PREFIX   prefix of the namespace names (default none: host51, host52, host68, sw); tests use
#                  their own so that they never meet a topology started by hand
#   NETNS_NET      the first three octets of the private /24 (default 10.251.0)
#   NETNS_STATE    directory for pids, logs and sockets (default /run/magent-netns/<prefix>default)
#   MAGENT_JAR     the daemon jar (default magent-cli/target/magent.jar)
#   MAGENT_ARGS    extra magent flags for both proxies (e.g. "--timeout 300 --failure-threshold 2")
#   MAGENT_JAVA_OPTS  JVM options (default: bin/magent's small-footprint options)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PREFIX=${NETNS_PREFIX:-}
NET=${NETNS_NET:-10.251.0}
STATE=${NETNS_STATE:-/run/magent-netns/${PREFIX}default}
JAR=${MAGENT_JAR:-$root/magent-cli/target/magent.jar}
HOSTS=(51 52 68)
MC_PORT=11211
MAGENT_PORT=11200
SW="${PREFIX}sw"

die() { echo "netns.sh: $*" >&2; exit 1; }
ns() { echo "${PREFIX}host$1"; }
addr() { echo "$NET.$1"; }
host_ok() { [[ $1 == 51 || $1 == 52 || $1 == 68 ]] || die "unknown host '$1' (51, 52 or 68)"; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# service name → host
svc_host() {
  case $1 in
    mc51 | mc52 | mc68) echo "${1#mc}" ;;
    magent51 | magent52) echo "${1#magent}" ;;
    *) die "unknown service '$1' (mc51 mc52 mc68 magent51 magent52)" ;;
  esac
}

svc_pid() { # prints the pid when the service runs
  local f="$STATE/$1.pid"
  [[ -f $f ]] || return 1
  local pid
  pid=$(<"$f")
  kill -0 "$pid" 2>/dev/null || return 1
  # a recycled pid belongs to another process: check it still runs in the service's namespace
  [[ $(ip netns identify "$pid" 2>/dev/null) == "$(ns "$(svc_host "$1")")" ]] || return 1
  echo "$pid"
}

# Waits (bounded) until ADDR:PORT accepts connections from inside namespace NS.
await_listening() { # ns addr port what
  local i
  for ((i = 0; i < 300; i++)); do
    if ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "$4 not listening on $2:$3 after 30 s (log: $STATE/$4.log)"
}

start_svc() {
  local svc=$1 host
  host=$(svc_host "$svc")
  ns_exists "$(ns "$host")" || die "namespace $(ns "$host") missing: run up first"
  if svc_pid "$svc" >/dev/null; then
    return 0
  fi
  # `ip netns exec` execs the command in place, so $! is the server's own pid
  case $svc in
    mc*)
      setsid ip netns exec "$(ns "$host")" memcached -u root -U 0 -l "$(addr "$host")" -p $MC_PORT -m 64 -c 1024 \
        </dev/null >"$STATE/$svc.log" 2>&1 &
      echo $! >"$STATE/$svc.pid"
      await_listening "$(ns "$host")" "$(addr "$host")" $MC_PORT "$svc"
      ;;
    magent*)
      [[ -f $JAR ]] || die "$JAR missing: mvn -B -q -pl magent-cli -am package -DskipTests"
      local sock="$STATE/magent$host.sock" opts
      rm -f "$sock"
      opts=${MAGENT_JAVA_OPTS:--Xms32m -Xmx128m -XX:MaxDirectMemorySize=64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError}
      # the how-to's command line, plus a unix socket for clients in the root namespace and the admin endpoint
      # shellcheck disable=SC2086
      setsid ip netns exec "$(ns "$host")" java $opts -jar "$JAR" -u root -n 4096 -l "$(addr "$host")" -p $MAGENT_PORT \
        -s "$(addr 51):$MC_PORT" -s "$(addr 52):$MC_PORT" -b "$(addr 68):$MC_PORT" \
        -f "$sock" --admin "$(addr "$host"):11299" ${MAGENT_ARGS:-} \
        </dev/null >"$STATE/$svc.log" 2>&1 &
      echo $! >"$STATE/$svc.pid"
      await_listening "$(ns "$host")" "$(addr "$host")" $MAGENT_PORT "$svc"
      local i
      for ((i = 0; i < 100; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
      [[ -S $sock ]] || die "$svc has no unix socket $sock"
      ;;
  esac
}

signal_svc() { # signal svc
  local pid
  pid=$(svc_pid "$2") || die "$2 is not running"
  kill "-$1" "$pid"
  if [[ $1 == KILL ]]; then
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$STATE/$2.pid"
  fi
}

cmd_up() {
  command -v ip >/dev/null || die "iproute2 (ip) is missing"
  [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
  command -v memcached >/dev/null || die "memcached is missing"
  mkdir -p "$STATE"
  if ! ns_exists "$SW"; then
    ip netns add "$SW"
    ip -n "$SW" link add br0 type bridge
    ip -n "$SW" link set br0 up
  fi
  local h
  for h in "${HOSTS[@]}"; do
    if ! ns_exists "$(ns "$h")"; then
      ip netns add "$(ns "$h")"
      ip -n "$(ns "$h")" link set lo up
      # created directly inside the two namespaces: no interface ever appears in the root namespace
      ip link add eth0 netns "$(ns "$h")" type veth peer name "v$h" netns "$SW"
      ip -n "$SW" link set "v$h" master br0
      ip -n "$SW" link set "v$h" up
      ip -n "$(ns "$h")" addr add "$(addr "$h")/24" dev eth0
      ip -n "$(ns "$h")" link set eth0 up
    fi
  done
  for svc in mc51 mc52 mc68 magent51 magent52; do
    start_svc "$svc"
  done
  cmd_status
}

cmd_down() {
  local h name pid
  # every process inside our namespaces, by pid (the services and anything a user ran there)
  for h in "${HOSTS[@]}" sw; do
    [[ $h == sw ]] && name=$SW || name=$(ns "$h")
    ns_exists "$name" || continue
    for pid in $(ip netns pids "$name" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
  done
  for h in "${HOSTS[@]}" sw; do
    [[ $h == sw ]] && name=$SW || name=$(ns "$h")
    local i
    for ((i = 0; i < 50; i++)); do
      ns_exists "$name" || break
      [[ -z $(ip netns pids "$name" 2>/dev/null) ]] && break
      sleep 0.1
    done
    if ns_exists "$name"; then
      ip netns del "$name"
    fi
  done
  rm -f "$STATE"/*.pid "$STATE"/*.sock
}

route_cmd() { # add|del a b
  local a=$1 b=$2 op=$3
  if [[ $op == add ]]; then
    ip -n "$(ns "$a")" route replace blackhole "$(addr "$b")/32"
  else
    ip -n "$(ns "$a")" route del blackhole "$(addr "$b")/32" 2>/dev/null || true
  fi
}

cmd_cut() {
  host_ok "$1"; host_ok "$2"; [[ $1 != "$2" ]] || die "cut needs two different hosts"
  route_cmd "$1" "$2" add
  route_cmd "$2" "$1" add
}

cmd_heal() {
  host_ok "$1"; host_ok "$2"
  route_cmd "$1" "$2" del
  route_cmd "$2" "$1" del
}

cmd_status() {
  local h svc pid cuts
  echo "state: $STATE"
  for h in "${HOSTS[@]}"; do
    if ! ns_exists "$(ns "$h")"; then
      echo "$(ns "$h"): absent"
      continue
    fi
    cuts=$(ip -n "$(ns "$h")" route show type blackhole | awk '{print $2}' | tr '\n' ' ')
    echo "$(ns "$h") $(addr "$h"): blackholed: ${cuts:-none}"
  done
  for svc in mc51 mc52 mc68 magent51 magent52; do
    if pid=$(svc_pid "$svc"); then
      echo "$svc: pid $pid $(awk '{print ($3 == "T" ? "stopped" : "running")}' "/proc/$pid/stat")"
    else
      echo "$svc: not running"
    fi
  done
}

cmd=${1:-}
shift || true
case $cmd in
  up) cmd_up ;;
  down) cmd_down ;;
  cut) [[ $# -eq 2 ]] || die "usage: cut A B"; cmd_cut "$1" "$2" ;;
  heal) [[ $# -eq 2 ]] || die "usage: heal A B"; cmd_heal "$1" "$2" ;;
  status) cmd_status ;;
  kill) signal_svc KILL "${1:?service}" ;;
  start) mkdir -p "$STATE"; start_svc "${1:?service}" ;;
  pause) signal_svc STOP "${1:?service}" ;;
  resume) signal_svc CONT "${1:?service}" ;;
  pid) svc_pid "${1:?service}" || die "${1} is not running" ;;
  socket) [[ ${1:-} == 51 || ${1:-} == 52 ]] || die "usage: socket 51|52"; echo "$STATE/magent$1.sock" ;;
  *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z $cmd ]] || exit 2 ;;
esac
