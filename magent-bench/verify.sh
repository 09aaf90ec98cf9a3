#!/usr/bin/env bash
# magent verify (anti-entropy) on real memcached: how long a run takes, and what it finds and repairs.
# One main and one backup memcached, magent (the packaged magent-cli/target/magent.jar) over them; N keys
# written through magent, then D differences of each kind planted directly on the backup (another value,
# other flags, a key deleted, a key the main lacks); then `magent verify main` (from the command line,
# which waits and prints the counts) twice: the first run repairs, the second should find nothing.
# Everything runs on 127.0.0.1; every process started here is stopped by PID on exit.
#
#   magent-bench/verify.sh                     100 000 keys, 1 000 differences of each kind, --resync-rate 20000
#   KEYS=20000 DIFFS=200 RATE=5000 magent-bench/verify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-100000}
DIFFS=${DIFFS:-1000}
RATE=${RATE:-20000}
JAR=magent-cli/target/magent.jar
[ -f "$JAR" ] || { echo "build it first: mvn -B -q -DskipTests package -pl magent-cli -am" >&2; exit 1; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
read -r MAIN BACKUP PROXY < <(python3 -c '
import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
memcached -u root -U 0 -l 127.0.0.1 -p "$MAIN" -m 256 & PIDS+=($!)
memcached -u root -U 0 -l 127.0.0.1 -p "$BACKUP" -m 256 & PIDS+=($!)
java -Xmx256m -jar "$JAR" -l 127.0.0.1 -p "$PROXY" -s "127.0.0.1:$MAIN" -b "127.0.0.1:$BACKUP" \
    --resync-rate "$RATE" 2>/tmp/verify-bench-magent.log & PIDS+=($!)
python3 - "$PROXY" "$BACKUP" "$KEYS" "$DIFFS" <<'PY'
import socket, sys, time
proxy, backup, n, d = (int(a) for a in sys.argv[1:])
def connect(port):
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)
def pipeline(sock, commands, expect):
    # send in batches, read exactly one reply line per command
    f = sock.makefile("rb")
    for i in range(0, len(commands), 500):
        batch = commands[i:i + 500]
        sock.sendall(b"".join(batch))
        for _ in batch:
            line = f.readline()
            if line not in expect:
                raise SystemExit("unexpected reply %r" % line)
def set_(key, value, flags=0):
    return b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, len(value), value)
p = connect(proxy)
keys = [b"verify-key-%08d" % i for i in range(n)]
pipeline(p, [set_(k, b"value-" + k + b"-" + b"x" * 64) for k in keys], {b"STORED\r\n"})
b = connect(backup)
plant = [set_(k, b"stale") for k in keys[0:d]]
plant += [set_(k, b"value-" + k + b"-" + b"x" * 64, 7) for k in keys[d:2 * d]]
plant += [b"delete %s\r\n" % k for k in keys[2 * d:3 * d]]
plant += [set_(b"verify-extra-%08d" % i, b"orphan") for i in range(d)]
pipeline(b, plant, {b"STORED\r\n", b"DELETED\r\n"})
print("%d keys written through magent; planted on the backup: %d other values, %d other flags, %d deleted, %d extra"
      % (n, d, d, d, d))
PY
for run in 1 2; do
    start=$(date +%s.%N)
    java -jar "$JAR" verify "127.0.0.1:$MAIN" --proxy "127.0.0.1:$PROXY"
    end=$(date +%s.%N)
    echo "run $run: $(python3 -c "print('%.1f s wall, client included' % ($end - $start))")"
done
