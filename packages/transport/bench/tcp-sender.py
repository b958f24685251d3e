#!/usr/bin/env python3
"""TCP sender for bench/run.mjs with a chosen congestion control (TCP_CONGESTION per socket:
Node cannot set it, and a namespace may not change its default). Writes until killed.
Usage: tcp-sender.py HOST PORT ALGORITHM"""
import socket
import sys

host, port, algorithm = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, algorithm.encode())
s.connect((host, port))
print('{"event": "connected"}', flush=True)
chunk = b"\x07" * 65536
while True:
    s.sendall(chunk)
