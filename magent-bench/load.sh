#!/usr/bin/env bash
# The same workload, side by side, in one run, against:
#   direct         one memcached
#   twemproxy      nutcracker over two memcached (ketama)
#   magent         magent over the same two (ketama, -k)
#   magent+backup  magent over the same two mains plus a third memcached as backup
# Rounds are interleaved (direct twemproxy magent magent+backup, direct twemproxy ...) so that noise from
# the machine spreads over every target instead of landing on one; each run is preceded by a short
# warm-up on the same target. Then magent's RSS: idle, at its peak under load, and holding 10 000 idle
# client connections. Everything runs on 127.0.0.1; every process started here is stopped by PID on exit.
#
#   magent-bench/load.sh                      basic workload, 3 rounds of 10 s per target (about 3 min)
#   magent-bench/load.sh --quick              basic workload, 3 rounds of 3 s (about 1.5 min)
#   magent-bench/load.sh --workload=all       basic, mget10, mget100, large, deep; 2 rounds of 2 s (about 4 min)
#   magent-bench/load.sh --workload=mget10,large --rounds=5 --duration=5
#   magent-bench/load.sh --workload=deep --quick
#
# Workloads (2 threads, 32-byte keys, 1 set : 10 gets; every key set once before the warm-up so gets hit):
#   basic     40 connections with one request outstanding each; 100-byte values, single-key get, 10 000 keys
#   mget10    as basic, with gets of 10 keys at a time
#   mget100   as basic, with gets of 100 keys at a time
#   large     as basic, with 10 KiB values and 2 000 keys
#   deep      10 connections with 100 requests in flight each (LoadClient --depth 100; --depth=N changes it):
#             pipelined, the next request sent as each reply completes; otherwise as basic. memaslap has no
#             setting for requests in flight per connection (its -w is a key window): deep is LoadClient's only
#
# The load generator is magent-bench's LoadClient (in target/benchmarks.jar). It sends memaslap's workload
# with printable keys, checks every reply against its request (keys, flags and value bytes of each VALUE;
# errors, misses and wrong values printed beside the figure), keeps every latency (exact percentiles), and
# reads the CPU time of the proxy and the memcached behind it, and the proxy's RSS, over exactly the
# measured window. --client=memaslap runs memaslap
# instead (-T 2 -c 40 -X, --division for multi-gets); --memaslap-check adds a short memaslap run per target
# after LoadClient's, as a cross-check of the generator (memaslap's keys begin with binary bytes, which
# magent takes as memcached does since issue 13).
#
# Other flags:
#   --depth=N           requests in flight per connection in the deep workload (default 100)
#   --rounds=N          measured runs per target and workload (default 3, or as many as fit the 300 s bound)
#   --duration=S        seconds per measured run (default 10; 3 with --quick; 2 with several workloads)
#   --warmup=S          seconds of warm-up before each run (default 2; 1 with --quick or several workloads)
#   --jit-warmup=S      at most this many seconds of each workload on each magent target before its first
#                       round, in 2 s runs until the JIT has compiled its path (default 20; 0: none)
#   --targets=LIST      a subset of direct,twemproxy,magent,magent+backup,baseline, plus any number of
#                       magent-TRANSPORT-Nt: magent over the same two mains with --transport TRANSPORT
#                       (io_uring, epoll, nio) and --io-threads N, e.g. magent-epoll-1t (up to 8 of them)
#   --compare-transports the targets direct,twemproxy,magent-io_uring-1t,magent-epoll-1t,magent-io_uring-2t,
#                       magent-epoll-2t: io_uring against epoll, one event loop against two, next to
#                       twemproxy and memcached in the same interleaved rounds
#   --baseline=JAR      adds the target "baseline": magent over the same two mains from another magent.jar
#                       (an older build), run with the same flags and JVM options, for before/after figures
#                       of a change in the same run: git worktree add /tmp/before HEAD~1 && (cd /tmp/before
#                       && mvn -B -q -DskipTests package -pl magent-cli -am); --baseline=/tmp/before/magent-cli/target/magent.jar
#   --idle-conns=N      idle client connections for the memory figure (default 10000; 0 skips it)
#   --base-port=P       first of the 7 consecutive ports used (default: a free block above the ephemeral
#                       port range, 61000 and up on Linux's defaults)
#   --twemproxy-conns=N nutcracker's server_connections (default 1: one pipelined connection per server,
#                       twemproxy's own default and its fastest setting on this workload)
#   --client=NAME       java (default) or memaslap
#   --memaslap-check    after the runs, memaslap for --duration seconds per target (basic workload), its
#                       ops/s next to LoadClient's median and its misses, failed verifications and errors
#   --out=DIR           where the raw outputs go (default: a new temp dir, printed at the end)
# MAGENT_ARGS adds flags to both magent targets (e.g. MAGENT_ARGS="-i 2" to compare pool sizes).
# BASELINE_BACKUP=1 gives the baseline target the backup too (before/after of magent+backup in one run).
# CURRENT_ARGS adds flags to every target but the baseline (e.g. CURRENT_ARGS="--transport epoll", which an
# older jar would refuse, to compare the two builds on one transport).
# BASELINE_JAVA_OPTS gives the baseline target JVM options of its own (the same jar twice, with and
# without a -D setting, compares that setting in one run).
# LOADCLIENT_ARGS adds flags to every measured LoadClient run, after load.sh's own (the later flag wins), e.g.
# LOADCLIENT_ARGS="--threads 40" for one client thread per connection.
# MAGENT_JAVA_OPTS replaces the JVM options of bin/magent, as for bin/magent itself; LOAD_JAVA_OPTS those of
# the load generator (default -Xms128m -Xmx256m -XX:+UseSerialGC).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
here=magent-bench

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
die() { echo "load.sh: $*" >&2; exit 1; }

# --- flags -------------------------------------------------------------------------------------
quick=0; workloads=basic; rounds=""; duration=""; warmup=""; targets="direct,twemproxy,magent,magent+backup"
jit_max=20; idle_conns=10000; base_port=""; depth=100; tw_conns=1; out=""; client=java; baseline_jar=""; memaslap_check=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --workload=*) workloads=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --depth=*) depth=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --warmup=*) warmup=${arg#*=} ;;
    --jit-warmup=*) jit_max=${arg#*=} ;;
    --targets=*) targets=${arg#*=} ;;
    --idle-conns=*) idle_conns=${arg#*=} ;;
    --base-port=*) base_port=${arg#*=} ;;
    --twemproxy-conns=*) tw_conns=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --client=*) client=${arg#*=} ;;
    --baseline=*) baseline_jar=${arg#*=} ;;
    --compare-transports) targets=direct,twemproxy,magent-io_uring-1t,magent-epoll-1t,magent-io_uring-2t,magent-epoll-2t ;;
    --memaslap-check) memaslap_check=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown flag $arg (see --help)" ;;
  esac
done
[[ $workloads == all ]] && workloads=basic,mget10,mget100,large,deep
IFS=, read -r -a workload_list <<<"$workloads"
IFS=, read -r -a target_list <<<"$targets"
for w in "${workload_list[@]}"; do
  [[ $w =~ ^(basic|mget10|mget100|large|deep)$ ]] || die "unknown workload $w (basic, mget10, mget100, large, deep, all)"
done
if [[ -n $baseline_jar ]]; then
  [[ -f $baseline_jar ]] || die "--baseline: no such jar $baseline_jar"
  baseline_jar=$(cd "$(dirname "$baseline_jar")" && pwd)/$(basename "$baseline_jar")
  [[ ,$targets, == *,baseline,* ]] || { targets+=",baseline"; target_list+=(baseline); }
fi
for t in "${target_list[@]}"; do
  [[ $t =~ ^(direct|twemproxy|magent|magent\+backup|baseline|magent-(io_uring|epoll|nio)-[1-9][0-9]*t)$ ]] ||
    die "unknown target $t"
  [[ $t != baseline || -n $baseline_jar ]] || die "the baseline target needs --baseline=JAR"
done
if [[ -z $duration ]]; then
  if (( ${#workload_list[@]} > 1 )); then duration=2; elif (( quick )); then duration=3; else duration=10; fi
fi
[[ -z $warmup ]] && { if (( quick || ${#workload_list[@]} > 1 )); then warmup=1; else warmup=2; fi; }
[[ -z $rounds || $rounds =~ ^[1-9][0-9]*$ ]] && [[ $duration =~ ^[1-9][0-9]*$ && $warmup =~ ^[0-9]+$ ]] &&
  [[ $depth =~ ^[1-9][0-9]*$ && $jit_max =~ ^[0-9]+$ ]] ||
  die "--rounds, --duration, --warmup, --jit-warmup and --depth take whole numbers"
uses_magent=0
[[ ,$targets, == *,magent* || ,$targets, == *,baseline,* ]] && uses_magent=1
[[ $client == java || $client == memaslap ]] || die "--client is java or memaslap"
[[ $client == memaslap && ,$workloads, == *,deep,* ]] &&
  die "memaslap has no setting for requests in flight per connection; run the deep workload with --client=java"

# The bound: measured runs, warm-ups, about 2 s per run for the load client's JVM and setting the keys,
# about 45 s of start-up and the idle-connection test, and the JIT warm-up of each workload on each magent
# target (counted as two 2 s runs, 8 s: the usual case once the first workload has compiled the common path).
# Without --rounds: 3 rounds, or fewer when 3 would not fit (--workload=all has five workloads: 2 rounds).
estimate_for() {
  local magent_targets=0 t
  for t in "${target_list[@]}"; do [[ $t == magent* || $t == baseline ]] && magent_targets=$(( magent_targets + 1 )); done
  local jit=$(( jit_max > 0 ? ${#workload_list[@]} * magent_targets * (jit_max < 8 ? jit_max : 8) : 0 ))
  echo $(( ${#workload_list[@]} * ${#target_list[@]} * $1 * (duration + warmup + 2) + 45 + jit ))
}
if [[ -z $rounds ]]; then
  rounds=3
  while (( rounds > 1 && $(estimate_for "$rounds") > 300 )); do rounds=$(( rounds - 1 )); done
fi
estimate=$(estimate_for "$rounds")
(( estimate <= 300 )) ||
  die "this would take about ${estimate} s; keep it under 300 s with fewer --rounds, a shorter --duration or fewer workloads"

# --- what a fresh Debian machine lacks -----------------------------------------------------------
memaslap=$(command -v memcaslap || command -v memaslap || true)
packages=()
command -v memcached >/dev/null || packages+=(memcached)
command -v nutcracker >/dev/null || packages+=(nutcracker)
[[ -n $memaslap ]] || packages+=(libmemcached-tools)
command -v python3 >/dev/null || packages+=(python3)
command -v java >/dev/null || packages+=(openjdk-17-jdk-headless)
bench_jar=magent-bench/target/benchmarks.jar
if [[ ! -f magent-cli/target/magent.jar || ! -f $bench_jar ]]; then
  command -v mvn >/dev/null || packages+=(maven)
fi
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
  memaslap=$(command -v memcaslap || command -v memaslap || true)
fi
[[ -n $memaslap ]] || die "libmemcached-tools has neither memcaslap nor memaslap"
if [[ ! -f magent-cli/target/magent.jar || ! -f $bench_jar ]]; then
  say "building magent and its benchmarks: mvn -B -q -DskipTests package -pl magent-cli,magent-bench -am"
  mvn -B -q -DskipTests package -pl magent-cli,magent-bench -am
fi
load_java_opts=${LOAD_JAVA_OPTS:--Xms128m -Xmx256m -XX:+UseSerialGC -Dslf4j.internal.verbosity=ERROR}

# --- ports, processes, clean-up ------------------------------------------------------------------
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
block_free() { local p; for p in $(seq "$1" $(( $1 + 15 ))); do listening "$p" && return 1; done; return 0; }
if [[ -z $base_port ]]; then
  # above the ephemeral range, so that no outgoing connection (10 000 of them below) holds a port first
  read -r _ ephemeral_top </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_top=60999
  for candidate in $(seq $(( ephemeral_top + 1 )) 100 65400) $(seq 22000 100 30000); do
    block_free "$candidate" && { base_port=$candidate; break; }
  done
  [[ -n $base_port ]] || die "no free block of 16 ports above $ephemeral_top or in 22000..30000"
else
  block_free "$base_port" || die "a port in $base_port..$(( base_port + 15 )) is in use"
fi
port_m1=$base_port port_m2=$(( base_port + 1 )) port_m3=$(( base_port + 2 ))
port_tw=$(( base_port + 3 )) port_tw_stats=$(( base_port + 4 ))
port_mg=$(( base_port + 5 )) port_mgb=$(( base_port + 6 )) port_base=$(( base_port + 7 ))
# magent-TRANSPORT-Nt targets: the ports after those
variants=()
for t in "${target_list[@]}"; do [[ $t == magent-*t ]] && variants+=("$t"); done
(( ${#variants[@]} <= 8 )) || die "at most 8 magent-TRANSPORT-Nt targets"

work=${out:-$(mktemp -d "${TMPDIR:-/tmp}/magent-load.XXXXXX")}
mkdir -p "$work"
declare -A pid=()
idle_pid=""
stop_all() {
  trap - EXIT INT TERM
  local name
  [[ -n $idle_pid ]] && kill "$idle_pid" 2>/dev/null
  for name in "${!pid[@]}"; do
    kill "${pid[$name]}" 2>/dev/null || true
  done
  for name in "${!pid[@]}"; do
    wait "${pid[$name]}" 2>/dev/null || true
  done
  echo "raw outputs and logs: $work"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 10 000 idle clients need as many descriptors in magent and in the helper; both inherit this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( idle_conns + 100 <= $(ulimit -n) )) || die "ulimit -n is $(ulimit -n); --idle-conns=$idle_conns needs more"

await_port() { # name port: bounded wait, 30 s
  local _
  for _ in $(seq 1 300); do
    listening "$2" && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || { cat "$work/$1.log" >&2; die "$1 exited before listening on $2 (log above)"; }
    sleep 0.1
  done
  die "$1 did not listen on port $2 within 30 s; see $work/$1.log"
}

as_user=()
[[ $(id -u) -eq 0 ]] && as_user=(-u root)
start_memcached() { # name port
  memcached "${as_user[@]}" -U 0 -l 127.0.0.1 -p "$2" -m 1024 -c 4096 -t 2 >"$work/$1.log" 2>&1 &
  pid[$1]=$!
}
start_memcached m1 "$port_m1"
start_memcached m2 "$port_m2"
start_memcached m3 "$port_m3"
await_port m1 "$port_m1"; await_port m2 "$port_m2"; await_port m3 "$port_m3"

if [[ ,$targets, == *,twemproxy,* ]]; then
  # md5 + ketama: twemproxy's libketama-style ring, as magent -k builds one
  cat >"$work/nutcracker.yml" <<EOF
bench:
  listen: 127.0.0.1:$port_tw
  hash: md5
  distribution: ketama
  timeout: 2000
  backlog: 1024
  preconnect: true
  server_connections: $tw_conns
  auto_eject_hosts: false
  servers:
    - 127.0.0.1:$port_m1:1
    - 127.0.0.1:$port_m2:1
EOF
  nutcracker -c "$work/nutcracker.yml" -s "$port_tw_stats" -a 127.0.0.1 -o "$work/nutcracker.log" \
    >"$work/nutcracker.out" 2>&1 &
  pid[twemproxy]=$!
  await_port twemproxy "$port_tw"
fi

if [[ -x bin/magent ]]; then
  magent_cmd=(bin/magent)
  jvm_note="bin/magent's defaults: $(sed -n 's/^default_opts="\(.*\)"$/\1/p' bin/magent)"
  [[ -n ${MAGENT_JAVA_OPTS:-} ]] && jvm_note="MAGENT_JAVA_OPTS=$MAGENT_JAVA_OPTS"
else
  # no launcher in this checkout: small-footprint options like the ones it would set
  jvm_opts=${MAGENT_JAVA_OPTS:--Xms64m -Xmx192m -XX:MaxDirectMemorySize=64m -XX:+UseSerialGC}
  # shellcheck disable=SC2206
  magent_cmd=(java $jvm_opts -jar magent-cli/target/magent.jar)
  jvm_note="$jvm_opts (no bin/magent in this checkout)"
fi
start_magent() { # name port [backup port]
  local cmd=("${magent_cmd[@]}")
  if [[ $1 == baseline ]]; then
    # shellcheck disable=SC2206
    local opts=${BASELINE_JAVA_OPTS:-${MAGENT_JAVA_OPTS:-}}
    [[ ${magent_cmd[0]} == bin/magent ]] &&
      cmd=(env "MAGENT_JAR=$baseline_jar" ${opts:+"MAGENT_JAVA_OPTS=$opts"} bin/magent) ||
      cmd=(java ${BASELINE_JAVA_OPTS:-$jvm_opts} -jar "$baseline_jar")
  fi
  local args=(-l 127.0.0.1 -p "$2" -k -n $(( idle_conns + 2000 )) -s "127.0.0.1:$port_m1" -s "127.0.0.1:$port_m2")
  [[ -n ${3:-} ]] && args+=(-b "127.0.0.1:$3")
  # shellcheck disable=SC2206 # MAGENT_ARGS is a list of flags, split on purpose
  [[ -n ${MAGENT_ARGS:-} ]] && args+=($MAGENT_ARGS)
  # shellcheck disable=SC2206
  [[ $1 != baseline && -n ${CURRENT_ARGS:-} ]] && args+=($CURRENT_ARGS)
  [[ $1 =~ ^magent-(io_uring|epoll|nio)-([0-9]+)t$ ]] &&
    args+=(--transport "${BASH_REMATCH[1]}" --io-threads "${BASH_REMATCH[2]}")
  # exec: bin/magent execs java, so this PID is the JVM's (for /proc/PID/status)
  "${cmd[@]}" "${args[@]}" >"$work/$1.log" 2>&1 &
  pid[$1]=$!
}
[[ ,$targets, == *,magent,* ]] && start_magent magent "$port_mg"
[[ ,$targets, == *,magent+backup,* ]] && start_magent magent+backup "$port_mgb" "$port_m3"
[[ ,$targets, == *,baseline,* ]] && start_magent baseline "$port_base" ${BASELINE_BACKUP:+"$port_m3"}
[[ -n ${pid[magent]:-} ]] && await_port magent "$port_mg"
[[ -n ${pid[baseline]:-} ]] && await_port baseline "$port_base"
[[ -n ${pid[magent+backup]:-} ]] && await_port magent+backup "$port_mgb"

declare -A port_of=([direct]=$port_m1 [twemproxy]=$port_tw [magent]=$port_mg [magent+backup]=$port_mgb
                    [baseline]=$port_base)
declare -A backends_of=([direct]="m1" [twemproxy]="m1 m2" [magent]="m1 m2" [magent+backup]="m1 m2 m3"
                        [baseline]="m1 m2${BASELINE_BACKUP:+ m3}")
for i in "${!variants[@]}"; do
  t=${variants[$i]}
  port_of[$t]=$(( base_port + 8 + i ))
  backends_of[$t]="m1 m2"
  start_magent "$t" "${port_of[$t]}"
done
for t in "${variants[@]}"; do await_port "$t" "${port_of[$t]}"; done
# every magent target, for the JIT warm-up and the memory figures
magents=()
for t in "${target_list[@]}"; do [[ $t == magent* || $t == baseline ]] && magents+=("$t"); done

# --- the workloads -------------------------------------------------------------------------------
cfg() { # workload -> config file; 1 set : 10 gets, 32-byte keys
  local value=100
  [[ $1 == large ]] && value=10240
  local f="$work/$1.cnf"
  printf 'key\n32 32 1\nvalue\n%d %d 1\ncmd\n0 0.091\n1 0.909\n' "$value" "$value" >"$f"
  echo "$f"
}
memaslap_args() { # workload target seconds
  local args=(-s "127.0.0.1:${port_of[$2]}" -F "$(cfg "$1")" -T 2 -c 40 -t "${3}s")
  case $1 in
    basic) args+=(-X 100) ;;
    mget10) args+=(-X 100 -d 10) ;;
    mget100) args+=(-X 100 -d 100) ;;
    large) args+=(-X 10240 -w 1k) ;; # 40 x 1k objects of 10 KiB stay within memcached's -m
  esac
  echo "${args[@]}"
}
cpu_ticks() { # name... -> utime+stime summed, in clock ticks
  local total=0 name
  for name in "$@"; do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/${pid[$name]}/stat") ))
  done
  echo "$total"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

loadclient_args() { # workload target seconds warmup
  local connections=40
  [[ $1 == deep ]] && connections=10
  local args=(--server "127.0.0.1:${port_of[$2]}" --threads 2 --connections "$connections" --duration "$3"
              --warmup "$4" --key-size 32 --gets-per-set 10)
  case $1 in
    basic) args+=(--value-size 100 --keys 10000) ;;
    deep) args+=(--value-size 100 --keys 10000 --depth "$depth") ;;
    mget10) args+=(--value-size 100 --keys 10000 --multiget 10) ;;
    mget100) args+=(--value-size 100 --keys 10000 --multiget 100) ;;
    large) args+=(--value-size 10240 --keys 2000) ;;
  esac
  echo "${args[@]}"
}
pids_of() { local name out=(); for name in "$@"; do out+=("${pid[$name]}"); done; local IFS=,; echo "${out[*]}"; }

run_loadclient() { # workload target round
  local workload=$1 target=$2 round=$3 f="$work/$1.$2.$3.txt"
  local extra=()
  [[ $target != direct ]] && extra=(--proxy-pid "${pid[$target]}")
  # the keys were set through this target in round 1 and memcached (-m 1024) keeps them
  (( round > 1 )) && extra+=(--prefill 0)
  # shellcheck disable=SC2046,SC2086
  timeout $(( duration + warmup + 90 )) java $load_java_opts -cp "$bench_jar" dev.magent.bench.load.LoadClient \
    $(loadclient_args "$workload" "$target" "$duration" "$warmup") "${extra[@]}" ${LOADCLIENT_ARGS:-} \
    --backend-pids "$(pids_of ${backends_of[$target]})" >"$f" 2>&1 ||
    echo "  (the load client failed or saw errors, see $f)"
  printf '  %-8s %-14s round %d: %s\n' "$workload" "$target" "$round" \
    "$(grep -m1 '^requests/s' "$f" || echo 'no result')"
}

run_memaslap() { # workload target round
  local workload=$1 target=$2 round=$3 proxy_before=0 proxy_after=0
  local backends=${backends_of[$target]}
  # warm-up on the same target, not measured
  if (( warmup > 0 )); then
    # shellcheck disable=SC2046
    timeout $(( warmup + 20 )) "$memaslap" $(memaslap_args "$workload" "$target" "$warmup") \
      >"$work/$workload.$target.$round.warmup" 2>&1 || true
  fi
  local backend_before
  # shellcheck disable=SC2086
  backend_before=$(cpu_ticks $backends)
  [[ -n ${pid[$target]:-} ]] && proxy_before=$(cpu_ticks "$target")
  # shellcheck disable=SC2046
  timeout $(( duration + 30 )) "$memaslap" $(memaslap_args "$workload" "$target" "$duration") -S "${duration}s" \
    >"$work/$workload.$target.$round.txt" 2>&1 || echo "  (memaslap exited non-zero, see $work/$workload.$target.$round.txt)"
  local backend_after
  # shellcheck disable=SC2086
  backend_after=$(cpu_ticks $backends)
  [[ -n ${pid[$target]:-} ]] && proxy_after=$(cpu_ticks "$target")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$target" "$round" $(( proxy_after - proxy_before )) \
    $(( backend_after - backend_before )) 0 "$hz" >>"$work/samples.tsv"
  printf '  %-8s %-14s round %d: %s\n' "$workload" "$target" "$round" \
    "$(grep -o 'TPS: [0-9]*' "$work/$workload.$target.$round.txt" || echo 'no result')"
}

say "machine"
echo "  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
echo "  load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows up as noise)"
echo "  memcached $(memcached -V | cut -d' ' -f2), nutcracker $(nutcracker -V 2>&1 | grep -o '[0-9][0-9.]*' | head -1), $(basename "$memaslap") from libmemcached-tools $(dpkg-query -W -f='${Version}' libmemcached-tools 2>/dev/null || echo '?')"
if (( uses_magent )); then
  echo "  $(java -version 2>&1 | head -1); magent JVM options: $jvm_note"
fi
echo "  ports $port_m1-$(( base_port + 7 + ${#variants[@]} )); workloads: ${workload_list[*]}; targets: ${target_list[*]}; $rounds rounds of ${duration} s after ${warmup} s warm-up; estimate ${estimate} s"

rss_idle_start=()
if (( uses_magent )); then
  for t in "${magents[@]}"; do
    [[ $t != baseline ]] && rss_idle_start+=("$t $(rss_kib "${pid[$t]}")")
  done
fi

# The JIT compiles each workload's path before that workload is measured, on every magent target: runs of
# 2 s of the workload itself until the JVM's compiler threads used less than 5 % of the proxy's CPU during
# a run, or --jit-warmup seconds have passed. A fixed 3 s of basic alone left the multi-get and large-value
# paths to be compiled during the first measured rounds: on a busy 2-core machine such a round cost twice
# the CPU per request of a later one, and with 2 s rounds cold rounds were the median (docs/benchmarks.md,
# "Cold rounds"). The compiler's own CPU is the direct sign: the proxy's CPU per request is too noisy a one.
stat_ticks() { # /proc/.../stat -> utime+stime; the fields counted after "(comm)", which may hold spaces
  sed 's/.*) //' "$1" 2>/dev/null | awk '{print $12 + $13}'
}
jit_ticks() { # pid -> "all compiler" clock ticks of the process and of its C1/C2 compiler threads
  local compiler=0 task n
  for task in /proc/"$1"/task/*; do
    if [[ $(cat "$task/comm" 2>/dev/null) == C[12]\ Compiler* ]]; then
      n=$(stat_ticks "$task/stat"); compiler=$(( compiler + ${n:-0} ))
    fi
  done
  echo "$(stat_ticks "/proc/$1/stat") $compiler"
}
jit_warm() { # workload target
  local workload=$1 t=$2 spent=0 f="$work/jit-warmup.$1.$2.txt" trail=() extra=() before after used jit
  : >"$f"
  while (( spent < jit_max )); do
    read -r -a before <<<"$(jit_ticks "${pid[$t]}")"
    # shellcheck disable=SC2046
    timeout 60 java $load_java_opts -cp "$bench_jar" dev.magent.bench.load.LoadClient \
      $(loadclient_args "$workload" "$t" 2 0) --proxy-pid "${pid[$t]}" "${extra[@]}" >>"$f" 2>&1 || true
    read -r -a after <<<"$(jit_ticks "${pid[$t]}")"
    extra=(--prefill 0)
    spent=$(( spent + 2 ))
    # a compiler thread the JVM ended during the run takes its ticks with it: never below 0
    used=$(( after[0] - before[0] )); jit=$(( after[1] > before[1] ? after[1] - before[1] : 0 ))
    trail+=("$(( used > 0 ? jit * 100 / used : 0 ))%")
    (( used > 0 && jit * 100 < used * 5 )) && break
  done
  printf '  JIT warm-up %-8s %-14s share of the proxy CPU in its compilers, per 2 s run: %s\n' \
    "$workload" "$t" "${trail[*]:-none}"
}

for workload in "${workload_list[@]}"; do
  if (( jit_max > 0 )); then
    for t in "${magents[@]}"; do [[ -n ${pid[$t]:-} ]] && jit_warm "$workload" "$t"; done
  fi
  if [[ $client == java ]]; then
    say "workload $workload: java -cp $bench_jar dev.magent.bench.load.LoadClient $(loadclient_args "$workload" direct "$duration" "$warmup" | sed "s/127.0.0.1:$port_m1/TARGET/")"
  else
    say "workload $workload: $memaslap $(memaslap_args "$workload" direct "$duration" | sed "s/127.0.0.1:$port_m1/TARGET/") -S ${duration}s (after ${warmup} s of the same)"
  fi
  for round in $(seq 1 "$rounds"); do
    for target in "${target_list[@]}"; do
      "run_$( [[ $client == java ]] && echo loadclient || echo memaslap )" "$workload" "$target" "$round"
    done
  done
done

# --- memaslap cross-check (--memaslap-check) -------------------------------------------------------
# memaslap against each target for --duration seconds (basic workload, a tenth of the gets verified), after
# LoadClient's runs: its ops/s next to LoadClient's median for the same target, so that a generator bug
# shows up as a disagreement; and its misses, failed verifications and error lines, which must be none.
memaslap_check() {
  local target f tps loadclient problems
  say "memaslap cross-check: $memaslap $(memaslap_args basic direct "$duration" | sed "s/127.0.0.1:$port_m1/TARGET/") -v 0.1"
  for target in "${target_list[@]}"; do
    f="$work/memaslap-check.$target.txt"
    # shellcheck disable=SC2046
    timeout $(( duration + 30 )) "$memaslap" $(memaslap_args basic "$target" "$duration") -v 0.1 >"$f" 2>&1 ||
      echo "  (memaslap exited non-zero on $target, see $f)"
    tps=$(grep -o 'TPS: [0-9]*' "$f" | tail -1 | cut -d' ' -f2 || true)
    loadclient=$(cat "$work"/basic."$target".*.txt 2>/dev/null | grep -o '^requests/s[^0-9]*[0-9.]*' | grep -o '[0-9.]*$' |
      sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR + 1) / 2)]}' || true)
    problems=$(grep -E '^(get_misses|verify_misses|verify_failed): [1-9]' "$f" | tr '\n' ' ' || true)
    if grep -iE 'error|fail' "$f" | grep -vq '^verify_failed: 0$'; then
      problems+=" error lines (see $f)"
    fi
    printf '  %-14s memaslap %8s ops/s   LoadClient median %8s requests/s   %s\n' "$target" "${tps:-none}" \
      "${loadclient:-(not run)}" "${problems:-no misses, no errors}"
  done
}
(( memaslap_check )) && memaslap_check

# --- memory --------------------------------------------------------------------------------------
mem_report=()
if (( uses_magent )); then
  for entry in "${rss_idle_start[@]}"; do
    mem_report+=("$(printf '%-16s RSS at start, idle:                     %6d MiB' "${entry%% *}" $(( ${entry##* } / 1024 )))")
  done
  for t in "${magents[@]}"; do
    [[ $t != baseline ]] || continue
    peak=$(cat "$work"/*."$t".*.txt 2>/dev/null | grep -o 'proxy_rss_peak_kib=[0-9]*' | cut -d= -f2 | sort -n | tail -1)
    peak=${peak:-0}
    mem_report+=("$(printf '%-16s RSS peak during the load runs:          %6d MiB' "$t" $(( peak / 1024 )))")
    mem_report+=("$(printf '%-16s RSS after the load runs, idle:          %6d MiB' "$t" $(( $(rss_kib "${pid[$t]}") / 1024 )))")
  done
  idle_target=magent
  [[ -n ${pid[magent]:-} ]] || idle_target=${magents[0]}
  if (( idle_conns > 0 )); then
    say "$idle_conns idle client connections to $idle_target"
    coproc IDLE { python3 "$here/load/idle_clients.py" 127.0.0.1 "${port_of[$idle_target]}" "$idle_conns"; }
    idle_pid=$IDLE_PID
    ready=""
    read -r -t 120 ready <&"${IDLE[0]}" || true
    [[ $ready == ready* ]] || die "the idle-connection helper did not get ready: '$ready'"
    read -r _ opened answered <<<"$ready"
    sleep 3 # let magent settle: buffers of the version round returned to the pools
    fds=$(ls "/proc/${pid[$idle_target]}/fd" | wc -l)
    rss_idle=$(rss_kib "${pid[$idle_target]}")
    echo "  $opened connections open, $answered answered version; magent holds $fds file descriptors"
    mem_report+=("$(printf '%-16s RSS with %d idle client connections: %6d MiB  (%d open, %d answered version)' \
      "$idle_target" "$idle_conns" $(( rss_idle / 1024 )) "$opened" "$answered")")
    idle_in=${IDLE[1]}
    exec {idle_in}>&-
    wait "$idle_pid" 2>/dev/null || true
    idle_pid=""
  fi
fi

say "results ($rounds rounds of ${duration} s per target, interleaved; medians across rounds)"
python3 "$here/load/load_report.py" "$work"
if (( ${#mem_report[@]} )); then
  say "magent memory (VmRSS from /proc/PID/status; JVM options: $jvm_note)"
  printf '  %s\n' "${mem_report[@]}"
fi
