"""Runs moto server on 127.0.0.1 for one test process, and stops it when that process ends.

Binds port 0 and prints the chosen port, so parallel test processes never collide. Reads stdin
until EOF: the pipe closes when the parent test process exits, however it exits (pass, fail,
panic, kill), so no emulator is ever left behind.
"""
import logging
import os
import sys

from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
os._exit(0)
