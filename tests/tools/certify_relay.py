#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# certify_relay.py PORTFILE CERT KEY UPSTREAM UPSTREAM_CERT CLIENT_CERT CLIENT_KEY REWRITE:
# an HTTPS relay that plays a dishonest agent for the certified-key tests. It
# listens on a free loopback port (written to PORTFILE) with the agent's own
# CERT/KEY (server_key_password empty), so the verifier's pin holds, and forwards each request to the
# agent at UPSTREAM (https://host:port, pinned to UPSTREAM_CERT) with the
# client certificate. While the file REWRITE exists, the agent's answer to
# POST .../keys/certify is changed before it is passed on: REWRITE is
# {"results": {member: value}, "flip": [member]}: members replaced, then the
# last byte of each base64 member in "flip" inverted.
import base64
import http.client
import http.server
import json
import os
import ssl
import sys
import urllib.parse

port_file, cert, key, upstream, up_cert, client_cert, client_key, rewrite = sys.argv[1:9]
up = urllib.parse.urlsplit(upstream)
up_ctx = ssl.create_default_context(cafile=up_cert)
up_ctx.check_hostname = False  # pinned to the agent's certificate instead
up_ctx.load_cert_chain(client_cert, client_key)


def rewritten(data):
    with open(rewrite) as f:
        change = json.load(f)
    answer = json.loads(data)
    answer["results"].update(change.get("results", {}))
    for member in change.get("flip", []):
        raw = bytearray(base64.b64decode(answer["results"][member]))
        raw[-1] ^= 0xFF
        answer["results"][member] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(answer).encode()


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPSConnection(up.hostname, up.port, context=up_ctx, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if (self.command == "POST" and self.path.endswith("/keys/certify")
                    and resp.status == 200 and os.path.exists(rewrite)):
                data = rewritten(data)
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
        finally:
            conn.close()

    do_GET = do_POST = relay


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key, password=b"")  # the agent writes it PKCS#8, empty password
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(f"{srv.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
