"""The ASGI app: ``launchlab_app.main:app`` (Starlette; kept light for Lambda cold starts)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchlab_app import contract
from launchlab_app.contract import ALLOW, APP_NAME, RUNTIME, ApiError

# Above this many rounds the hashing leaves the event loop, so /health keeps answering.
THREAD_ROUNDS = 2000
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _dumps(content).encode("ascii")


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


class RequestLog:
    """One JSON line per request on stdout; also decides `cold` (GET /health does not count)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.served_first = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        if path != "/health":
            scope["launchlab.cold"] = not self.served_first
            self.served_first = True
        status = 500  # what the server error middleware outside us sends if we raise

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            now = time.time()
            line = _dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                    + f".{int(now % 1 * 1000):03d}Z",
                    "level": "info",
                    "app": APP_NAME,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


async def read_json(request: Request) -> Any:
    if contract.declared_too_large(request.headers.get("content-length")):
        # uvicorn reads and drops the unread body, so the connection stays usable.
        raise contract.too_large()
    if not contract.is_json_content_type(request.headers.get("content-type")):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > contract.MAX_BODY_BYTES:
            raise contract.too_large()
        chunks.append(chunk)
    return contract.parse_json(b"".join(chunks))


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def info(request: Request) -> Response:
    launch = contract.cached_launch()
    if launch is None:
        # Off the event loop only when it means a (1 s bounded) call to the metadata endpoint.
        needs_network = contract.launch_needs_network(os.environ)
        launch = await run_in_threadpool(contract.launch) if needs_network else contract.launch()
    launch_type, instance_id = launch
    lambda_context = request.scope.get("aws.context")
    if lambda_context is not None:
        instance_id = lambda_context.aws_request_id
    return JSONResponse(
        {
            "app": APP_NAME,
            "runtime": RUNTIME,
            "version": os.environ.get("APP_VERSION") or "dev",
            "launch_type": launch_type,
            "instance_id": instance_id,
            "cold": request.scope.get("launchlab.cold", False),
        }
    )


async def compute(request: Request) -> Response:
    payload, rounds = contract.validate_compute(await read_json(request))
    started = time.perf_counter()
    if rounds > THREAD_ROUNDS:
        digest = await run_in_threadpool(contract.iterated_sha256, payload, rounds)
    else:
        digest = contract.iterated_sha256(payload, rounds)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return JSONResponse({"digest": digest, "rounds": rounds, "elapsed_ms": elapsed_ms})


async def echo(request: Request) -> Response:
    body = contract.validate_echo(await read_json(request))
    now = datetime.now(UTC)
    body["received_at"] = f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"
    return JSONResponse(body)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return error_response(ApiError(404, "not_found", f"no route for {path}"))
    if exc.status_code == 405:
        allow = ALLOW[path]
        message = f"{request.method} is not allowed on {path}; use {allow}"
        return error_response(ApiError(405, "method_not_allowed", message, {"allow": allow}))
    return error_response(ApiError(exc.status_code, "http_error", exc.detail))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # ServerErrorMiddleware has already logged the traceback to stderr.
    return error_response(ApiError(500, "internal_error", "internal error"))


app = Starlette(
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/", info, methods=["GET"]),
        Route("/compute", compute, methods=["POST"]),
        Route("/echo", echo, methods=["POST"]),
    ],
    middleware=[Middleware(RequestLog)],
    exception_handlers={
        ApiError: on_api_error,
        HTTPException: on_http_exception,
        Exception: on_unexpected,
    },
)
# /health/ is a 404, as in node-app, not a redirect.
app.router.redirect_slashes = False
