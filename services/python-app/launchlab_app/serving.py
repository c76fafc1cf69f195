"""How both uvicorn processes (the app and the Function URL shim) are run: PORT, JSON logs,
JSON 400s for unparseable HTTP, and a SIGTERM that drains then exits 0."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# In-flight requests get this long after SIGTERM (ECS stopTimeout defaults to 30 s);
# SHUTDOWN_TIMEOUT_S overrides it (the tests use 1 s to see the bound enforced).
GRACEFUL_SHUTDOWN_S = float(os.environ.get("SHUTDOWN_TIMEOUT_S") or 10)
# Longer than the ALB idle timeout (60 s), so the ALB, not the app, closes idle connections.
KEEP_ALIVE_S = 65


class JSONErrorH11Protocol(H11Protocol):
    """uvicorn answers unparseable HTTP itself, in text/plain; the contract wants its JSON shape."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {"error": {"status": 400, "code": "bad_request", "message": msg}}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


class JsonFormatter(logging.Formatter):
    def __init__(self, app_name: str = "") -> None:
        super().__init__()
        self.app_name = app_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "app": self.app_name,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def log_config(app_name: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "app_name": app_name}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {"uvicorn": {"handlers": ["stdout"], "level": "INFO", "propagate": False}},
    }


def port_from_env() -> int:
    value = os.environ.get("PORT", "")
    if not value:
        return 8080
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        sys.exit(f"PORT must be an integer 0..65535, got {value!r}")
    return port


def serve(app: Any, app_name: str) -> int:
    """Run `app` (an ASGI app or import string) under uvicorn until SIGTERM; returns exit code."""
    import uvicorn

    # uvicorn re-raises the signal it shut down on, once it has restored the previous handler.
    # With the default handler that kills the process (exit -15); with this one it exits 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=port_from_env(),
        http=JSONErrorH11Protocol,
        lifespan="off",
        access_log=False,  # the app logs its own JSON line per request
        log_config=log_config(app_name),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        timeout_keep_alive=KEEP_ALIVE_S,
        server_header=False,
    )
    return 0
