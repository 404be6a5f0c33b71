"""Runs moto server on 127.0.0.1 for one test process, and stops it when that process ends.

Binds port 0 and prints the chosen port, so parallel test processes never collide. Reads stdin
until EOF: the pipe closes when the parent test process exits, however it exits (pass, fail,
panic, kill), so no emulator is ever left behind.

DynamoDB applies each conditional write atomically; moto's backend checks the condition and
writes without a lock, so two concurrent claims of one event could both succeed against it.
DynamoDB requests are therefore served one at a time here (SQS requests, long polls included,
stay concurrent), which gives the emulator the guarantee the real service has.
"""
import logging
import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

moto_app = DomainDispatcherApplication(create_backend_app)
dynamodb_lock = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb_lock:
            return list(moto_app(environ, start_response))
    return moto_app(environ, start_response)


server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
os._exit(0)
