#!/usr/bin/env python3
"""Writes where twemproxy (nutcracker) sends the keys of rings.spec, for KetamaGoldenTest.

The output is committed next to rings.spec in src/test/resources/dev/magent/hashing/ as twemproxy.golden;
rerun only to check another twemproxy version. From this directory:

    R=../resources/dev/magent/hashing; python3 twemproxy_golden.py < $R/rings.spec > $R/twemproxy.golden

It starts one nutcracker (from PATH) with a pool per ring (hash: md5, distribution: ketama), backed by fake
memcached servers in this process that answer every get with END and note which server saw which key.
Servers on 127.0.0.1 at ports >= 41000 are listed unnamed at that very port (twemproxy then names points
host:port-N); every other server is listed with libmemcached's name for it ("host" at port 11211,
"host:port" otherwise) and backed by a free local port, so no real address is needed.
Placement in twemproxy does not depend on the order of its server list: it sorts servers by name on
loading, which decides who keeps a point two servers share (KetamaRing.PointRules.TWEMPROXY).
Everything it starts is stopped on exit; only loopback ports are used.
"""
import asyncio
import os
import socket
import subprocess
import sys
import tempfile

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def keys(seed, count):
    """The same key stream as KetamaGoldenTest.keys() and libmemcached_golden.c."""
    state, out = seed, []
    for _ in range(count):
        state, r = splitmix64(state)
        key = bytearray()
        for _ in range(1 + r % 100):
            state, r = splitmix64(state)
            v = r % 222
            key.append(0x21 + v if v < 94 else 0x80 + (v - 94))
        out.append(bytes(key))
    return out


def parse(spec):
    rings, ring = [], None
    for line in spec:
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "ring":
            ring = {"label": words[1], "seed": int(words[2]), "count": int(words[3]), "servers": [], "extra": []}
        elif words[0] == "server":
            ring["servers"].append((words[1], int(words[2]), int(words[3])))
        elif words[0] == "key":
            ring["extra"].append(bytes.fromhex(words[1]))
        elif words[0] == "end":
            rings.append(ring)
    return rings


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main():
    rings = parse(sys.stdin)
    seen = {}  # (ring index, key) -> set of server indices that saw the key

    def backend(ring_index, server_index):
        async def serve(reader, writer):
            try:
                while line := await reader.readline():
                    words = line.rstrip(b"\r\n").split(b" ")
                    if words[0] in (b"get", b"gets"):
                        for key in words[1:]:
                            seen.setdefault((ring_index, key), set()).add(server_index)
                        writer.write(b"END\r\n")
                        await writer.drain()
            except (asyncio.CancelledError, ConnectionError):
                pass  # nutcracker stopped
        return serve

    listeners, conf, fixed = [], [], {}
    # fixed ports first, before free_port() could hand one of them out
    for r, ring in enumerate(rings):
        for s, (host, port, weight) in enumerate(ring["servers"]):
            if host == "127.0.0.1" and port >= 41000:
                fixed[r, s] = await asyncio.start_server(backend(r, s), "127.0.0.1", port)
    for r, ring in enumerate(rings):
        ring["listen"] = free_port()
        conf += [f"ring{r}:", f"  listen: 127.0.0.1:{ring['listen']}", "  hash: md5", "  distribution: ketama",
                 "  auto_eject_hosts: false", "  servers:"]
        for s, (host, port, weight) in enumerate(ring["servers"]):
            if (r, s) in fixed:
                listeners.append(fixed[r, s])
                entry = f"127.0.0.1:{port}:{weight}"
            else:
                listeners.append(await asyncio.start_server(backend(r, s), "127.0.0.1", 0))
                bound = listeners[-1].sockets[0].getsockname()[1]
                name = host if port == 11211 else f"{host}:{port}"
                entry = f"127.0.0.1:{bound}:{weight} {name}"
            conf.append(f"   - {entry}")

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "nutcracker.yml"), "w") as f:
            f.write("\n".join(conf) + "\n")
        proxy = subprocess.Popen(["nutcracker", "-c", f.name, "-o", os.path.join(tmp, "nutcracker.log"),
                                  "-s", str(free_port()), "-a", "127.0.0.1"])
        try:
            version = subprocess.run(["nutcracker", "-V"], capture_output=True, text=True).stderr.split("\n")[0]
            print(f"# {version}, hash: md5, distribution: ketama, for rings.spec (twemproxy_golden.py)")
            for r, ring in enumerate(rings):
                for attempt in range(50):
                    try:
                        reader, writer = await asyncio.open_connection("127.0.0.1", ring["listen"])
                        break
                    except OSError:
                        await asyncio.sleep(0.1)
                else:
                    raise SystemExit(f"nutcracker does not listen on {ring['listen']}")
                generated = keys(ring["seed"], ring["count"])
                for key in generated + ring["extra"]:
                    writer.write(b"get " + key + b"\r\n")
                    await writer.drain()
                    reply = await reader.readline()
                    if reply != b"END\r\n":
                        raise SystemExit(f"unexpected reply {reply!r} for {key!r} in {ring['label']}")
                writer.close()

                def where(key):
                    servers = seen.get((r, key), set())
                    if len(servers) != 1:
                        raise SystemExit(f"{key!r} in {ring['label']} reached {servers}")
                    return next(iter(servers))

                print(f"ring {ring['label']}")
                placement = [where(k) for k in generated]
                for i in range(0, len(placement), 50):
                    print("placement " + " ".join(map(str, placement[i:i + 50])))
                for key in ring["extra"]:
                    print(f"key {key.hex()} {where(key)}")
                print("end")
        finally:
            proxy.terminate()
            proxy.wait()
            for listener in listeners:
                listener.close()


asyncio.run(main())
