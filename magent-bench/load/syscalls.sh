#!/usr/bin/env bash
# System calls per request of each proxy under the load test's basic workload (40 connections, 1 set : 10
# gets, 100-byte values, 32-byte keys), counted with strace -c (or, with --tool=perf, perf stat on the
# syscalls:sys_enter_* tracepoints, which does not slow the process) over a short LoadClient run:
#   magent --transport io_uring, magent --transport epoll (both -k, --io-threads 2), twemproxy (ketama)
# over the same two memcached. strace slows every call it traces, so the proxy batches more than it would
# untraced: read the figures as "per request, under strace", for comparing proxies and transports with
# each other, not as absolute rates; perf's counts are the untraced ones (perf needs tracefs access). Needs strace, memcached, nutcracker, and the jars (mvn -B -q
# -DskipTests package -pl magent-cli,magent-bench -am). Bounded: about 60 s.
#
#   magent-bench/load/syscalls.sh [--duration=S] [--targets=io_uring,epoll,twemproxy] [--tool=strace|perf] [--io-threads=N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
duration=5; targets=io_uring,epoll,twemproxy; tool=strace; threads=2
for arg in "$@"; do
  case $arg in
    --duration=*) duration=${arg#*=} ;;
    --targets=*) targets=${arg#*=} ;;
    --tool=*) tool=${arg#*=} ;;
    --io-threads=*) threads=${arg#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "syscalls.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done
[[ $tool == strace || $tool == perf ]] || { echo "syscalls.sh: --tool is strace or perf" >&2; exit 2; }
command -v "$tool" >/dev/null || { echo "syscalls.sh: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
bench_jar=magent-bench/target/benchmarks.jar
magent_jar=magent-cli/target/magent.jar
[[ -f $bench_jar && -f $magent_jar ]] || { echo "syscalls.sh: build the jars first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/magent-syscalls.XXXXXX")
base=$(( 23000 + RANDOM % 2000 ))
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
await_port() { local _; for _ in $(seq 1 300); do listening "$1" && return 0; sleep 0.1; done; echo "no listener on $1" >&2; exit 1; }
as_user=(); [[ $(id -u) -eq 0 ]] && as_user=(-u root)
for i in 0 1; do
  memcached "${as_user[@]}" -U 0 -l 127.0.0.1 -p $(( base + i )) -m 256 -t 2 >"$work/m$i.log" 2>&1 & pids+=($!)
  await_port $(( base + i ))
done
load() { # port seconds warmup prefill [proxy pid] -> output file
  java -Xms128m -Xmx256m -XX:+UseSerialGC -cp "$bench_jar" dev.magent.bench.load.LoadClient --server "127.0.0.1:$1" \
    --threads 2 --connections 40 --duration "$2" --warmup "$3" --key-size 32 --gets-per-set 10 --value-size 100 \
    --keys 10000 --prefill "$4" ${5:+--proxy-pid "$5"}
}
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $tool; magent --io-threads $threads; $duration s per target; $work"
printf '%-10s %9s %9s %8s %7s %7s %9s  %s\n' target requests syscalls per-req errors misses "CPU us/req" "top calls (count)"
port=$(( base + 2 ))
IFS=, read -r -a list <<<"$targets"
for t in "${list[@]}"; do
  port=$(( port + 1 ))
  if [[ $t == twemproxy ]]; then
    cat >"$work/nutcracker.yml" <<YML
bench:
  listen: 127.0.0.1:$port
  hash: md5
  distribution: ketama
  preconnect: true
  server_connections: 1
  servers:
    - 127.0.0.1:$base:1
    - 127.0.0.1:$(( base + 1 )):1
YML
    nutcracker -c "$work/nutcracker.yml" -s $(( port + 100 )) -o "$work/nutcracker.log" >/dev/null 2>&1 & pid=$!
  else
    java -Xms64m -Xmx128m -XX:+UseSerialGC -jar "$magent_jar" -p "$port" -k --io-threads "$threads" --transport "$t" \
      -s "127.0.0.1:$base" -s "127.0.0.1:$(( base + 1 ))" >"$work/$t.log" 2>&1 & pid=$!
  fi
  pids+=("$pid")
  await_port "$port"
  load "$port" 3 0 1 >"$work/$t.warmup.txt" 2>&1 || true   # sets the keys, warms the JIT
  if [[ $tool == strace ]]; then
    strace -c -f -q -p "$pid" -o "$work/$t.strace" & spid=$!
  else
    perf stat -x, -e 'syscalls:sys_enter_*' -p "$pid" -o "$work/$t.perf" & spid=$!
  fi
  sleep 1 # strace attaches to every thread
  load "$port" "$duration" 0 0 "$pid" >"$work/$t.txt" 2>&1 || true
  kill -INT "$spid"; wait "$spid" 2>/dev/null || true
  result=$(grep -m1 '^RESULT ' "$work/$t.txt" || true)
  field() { grep -o " $1=[0-9]*" <<<"$result" | cut -d= -f2; }
  requests=$(field requests); errors=$(( $(field errors || echo 0) + $(field closed || echo 0) )); misses=$(field misses)
  if [[ $tool == strace ]]; then
    calls=$(awk '$NF == "total" {print $(NF-2)}' "$work/$t.strace")
    [[ $calls =~ ^[0-9]+$ ]] || calls=$(awk '$NF == "total" {print $(NF-1)}' "$work/$t.strace")
    top=$(awk 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {print $4, $NF}' "$work/$t.strace" | sort -rn | head -5 |
      awk '{printf "%s(%s) ", $2, $1}')
  else
    calls=$(awk -F, '$1 ~ /^[0-9]+$/ {s += $1} END {print s + 0}' "$work/$t.perf")
    top=$(awk -F, '$1 ~ /^[0-9]+$/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3); print $1, $3}' "$work/$t.perf" |
      sort -rn | head -5 | awk '{printf "%s(%s) ", $2, $1}')
  fi
  cpu=$(awk -v t="$(field proxy_cpu_ticks)" -v r="${requests:-1}" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t / hz * 1e6 / r}')
  printf '%-10s %9s %9s %8.2f %7s %7s %9.1f  %s\n' "$t" "${requests:-?}" "${calls:-?}" \
    "$(awk -v c="${calls:-0}" -v r="${requests:-1}" 'BEGIN {print c / r}')" "$errors" "${misses:-?}" "$cpu" "$top"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
