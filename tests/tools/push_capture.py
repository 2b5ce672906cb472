#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# push_capture.py PORT PORTFILE DIR CERT KEY CA UPSTREAM: an HTTPS relay that
# plays a network eavesdropper for the replay tests. Listens on loopback PORT
# (0: a free one; written to PORTFILE once listening) with CERT/KEY, forwards each request to UPSTREAM
# (https://host:port, checked against CA) and records it in DIR as N.json:
# {"method", "path", "authorization", "body"}, numbered in arrival order.
import http.client
import http.server
import json
import os
import ssl
import sys
import threading
import urllib.parse

port, port_file, out_dir, cert, key, ca, upstream = sys.argv[1:8]
up = urllib.parse.urlsplit(upstream)
up_ctx = ssl.create_default_context(cafile=ca)
lock = threading.Lock()
count = 0


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def relay(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            n = count
            count += 1
        record = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "body": body.decode("utf-8", "replace"),
        }
        tmp = os.path.join(out_dir, f".{n}.json")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out_dir, f"{n}.json"))
        conn = http.client.HTTPSConnection(up.hostname, up.port, context=up_ctx, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept", "authorization")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k in ("Content-Type", "Location", "Retry-After"):
                if resp.getheader(k) is not None:
                    self.send_header(k, resp.getheader(k))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
        finally:
            conn.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = relay


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Relay)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(f"{srv.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
