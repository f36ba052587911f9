#!/usr/bin/env python3
"""The memory cost of idle connections: opens N connections to a running appliance in steps,
leaves them idle (either silent, or after one keep-alive request each), and prints the
server's resident memory (VmRSS) and open-connection count after each step.

  bench/idle_connections.py --port 8080 --pid PID [--steps 1000,5000,10000] [--mode silent|keepalive]

The server's http.header_timeout / http.keep_alive_timeout must outlast the run (e.g. 10 min):
a closed connection is not an idle one. Raises this process's RLIMIT_NOFILE to fit. Nothing
here asserts a number; bench/README.md records what was measured.
"""
import argparse
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_connection(port, mode):
    s = socket.create_connection(("127.0.0.1", port))
    if mode == "keepalive":
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while b'"alive"}' not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("the server closed a connection during the warm-up request")
            data += chunk
    return s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--steps", default="1000,5000,10000")
    parser.add_argument("--mode", choices=["silent", "keepalive"], default="keepalive")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before each reading")
    args = parser.parse_args()
    steps = [int(x) for x in args.steps.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(steps) + 1024), hard))

    time.sleep(args.settle)
    base = rss_kib(args.pid)
    print(f"mode={args.mode} baseline_rss_mib={base / 1024:.1f}")
    held = []
    for target in steps:
        while len(held) < target:
            held.append(open_connection(args.port, args.mode))
        time.sleep(args.settle)
        rss = rss_kib(args.pid)
        per_1000 = (rss - base) / len(held) * 1000 / 1024
        print(f"connections={len(held)} rss_mib={rss / 1024:.1f} "
              f"delta_mib={(rss - base) / 1024:.1f} per_1000_mib={per_1000:.2f}")
        sys.stdout.flush()
    # A fresh request still gets an answer while they are all held.
    t0 = time.monotonic()
    try:
        open_connection(args.port, "keepalive").close()
        print(f"fresh_request_ms={(time.monotonic() - t0) * 1000:.1f}")
    except (RuntimeError, OSError) as e:
        print(f"fresh_request_failed={e} (past http.max_connections a connection gets a 503)")
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
