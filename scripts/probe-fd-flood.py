#!/usr/bin/env python3
"""Probe (issue 25): a fresh client's answer under a flood of idle connections, with the server
under a low file-descriptor limit.

    scripts/probe-fd-flood.py BINARY FDS IDLE

Starts BINARY (mock-server) under `prlimit --nofile=FDS:FDS`, opens IDLE connections that send
nothing, then one fresh client sends `GET /json` and waits at most 10 s. Prints how many idle
connections are still open from the client's side (not closed or refused), how many sockets the
server holds (its /proc/PID/fd), the fresh client's status line and the time to it.
"""
import socket
import subprocess
import sys
import time

binary, fds, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server = subprocess.Popen(
    ["prlimit", f"--nofile={fds}:{fds}", binary, "--bind", "127.0.0.1:0"],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    line = server.stdout.readline()
    host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
    held = []
    for _ in range(idle):
        s = socket.create_connection((host, int(port)))
        held.append(s)
    time.sleep(1)  # let the server accept (or refuse) the flood
    open_now = 0
    for s in held:
        s.setblocking(False)
        try:
            data = s.recv(1024)
            if data == b"" or data.startswith(b"HTTP/1.1 503"):
                continue  # closed or refused by the server
            open_now += 1
        except BlockingIOError:
            open_now += 1  # still open, nothing sent
        except ConnectionResetError:
            continue
    import os
    sockets = sum(
        1 for fd in os.listdir(f"/proc/{server.pid}/fd")
        if os.readlink(f"/proc/{server.pid}/fd/{fd}").startswith("socket:"))
    fresh = socket.create_connection((host, int(port)))
    fresh.settimeout(10)
    started = time.monotonic()
    fresh.sendall(b"GET /json HTTP/1.1\r\nhost: x\r\n\r\n")
    try:
        answer = fresh.recv(4096).split(b"\r\n", 1)[0].decode()
    except socket.timeout:
        answer = "no answer within 10 s"
    took = time.monotonic() - started
    print(f"fds={fds} idle={idle} open={open_now} server_sockets={sockets} fresh: {answer!r} after {took * 1000:.1f} ms")
finally:
    server.terminate()
    server.wait()
