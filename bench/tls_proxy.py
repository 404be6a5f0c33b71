"""The AWS emulator over HTTPS, with connections kept alive as AWS's endpoints keep them: a TLS
front on 127.0.0.1 that forwards each request to the emulator's plain HTTP address. (moto's
own `--ssl-cert` server closes the connection after every answer, so a connection opened at
init could never be reused against it.)

    python bench/tls_proxy.py --upstream http://127.0.0.1:PORT --dir DIR
        writes the certificates (bench/tls_certs.py) to DIR, listens, prints
        "https://127.0.0.1:PORT" on one line, and serves until killed
"""
import argparse
import http.client
import os
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
import tls_certs  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "content-length"}


def handler(upstream):
    local = threading.local()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def log_message(self, *args):
            pass

        def setup(self):
            # Headers and body go in separate writes: without this, Nagle's algorithm and the
            # peer's delayed ACK hold the second for 40 ms.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().setup()

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for attempt in range(2):
                if getattr(local, "connection", None) is None:
                    local.connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                    local.connection.connect()
                    local.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    local.connection.request(self.command, self.path, body=body, headers=headers)
                    answer = local.connection.getresponse()
                    payload = answer.read()
                    break
                except (http.client.HTTPException, OSError):
                    local.connection.close()
                    local.connection = None
                    if attempt:
                        return self.send_error(502)
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    return Forward


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    tls_certs.main(args.dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(args.dir, "server.pem"), os.path.join(args.dir, "server-key.pem"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(urllib.parse.urlsplit(args.upstream)))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"https://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
