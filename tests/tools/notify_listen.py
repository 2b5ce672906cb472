#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# notify_listen.py SOCKET LOG: plays systemd's side of sd_notify(3) for the
# tests: binds a unix datagram socket at SOCKET and appends every message it
# receives to LOG, one field per line and "--" after each message, until
# killed. Writes LOG's first line ("listening") once bound.
import socket
import sys

sock_path, log_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
with open(log_path, "a", buffering=1) as log:
    log.write("listening\n")
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        log.write(msg.rstrip("\n") + "\n--\n")
