#!/usr/bin/env python3
"""A recipient's revocation endpoint for tests: refuses the first notice (503), acknowledges the
rest, and writes every request (method, path, headers, body) as a JSON line to LOG_FILE.

    callback_receiver.py LOG_FILE PORT_FILE      (writes its port to PORT_FILE once listening on 127.0.0.1)
"""
import json, signal, sys

# A child of the test process inherits its blocked signals: unblock them, so that the test's
# SIGTERM ends this server.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
from http.server import BaseHTTPRequestHandler, HTTPServer

log_path = sys.argv[1]
seen = {"count": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen["count"] += 1
        with open(log_path, "a") as log:
            log.write(json.dumps({"method": "POST", "path": self.path, "headers": dict(self.headers.items()),
                                  "body": body.decode()}) + "\n")
        self.send_response(503 if seen["count"] == 1 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
