#!/usr/bin/env python3
"""Opens many client connections to a memcached-protocol server and holds them idle.

    idle_clients.py HOST PORT COUNT

Connects COUNT sockets (in batches, so the server's accept backlog is not overrun), then sends one
"version" on each and reads its answer, so that every connection has been through the server's read
path at least once, not only accepted. Prints "ready <open> <answered>" and holds the connections until
its standard input closes, then closes them all. Needs `ulimit -n` above COUNT.
"""
import selectors
import socket
import sys
import time

BATCH = 250


def connect_all(host, port, count):
    socks = []
    for start in range(0, count, BATCH):
        batch = []
        for _ in range(min(BATCH, count - start)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            batch.append(s)
        sel = selectors.DefaultSelector()
        for s in batch:
            sel.register(s, selectors.EVENT_WRITE)
        pending = len(batch)
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                sel.unregister(key.fileobj)
                pending -= 1
        sel.close()
        socks.extend(s for s in batch if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
    return socks


def version_round(socks):
    """Sends version on every socket; counts the answers that arrive within 30 s."""
    sel = selectors.DefaultSelector()
    for s in socks:
        try:
            s.send(b"version\r\n")
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pass
    answered = 0
    pending = len(sel.get_map())
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            try:
                data = key.fileobj.recv(256)
            except OSError:
                data = b""
            sel.unregister(key.fileobj)
            pending -= 1
            if data.startswith(b"VERSION"):
                answered += 1
    sel.close()
    return answered


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    socks = connect_all(host, port, count)
    answered = version_round(socks)
    print(f"ready {len(socks)} {answered}", flush=True)
    sys.stdin.read()  # hold until the caller closes our stdin
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
