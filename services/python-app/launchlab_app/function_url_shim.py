"""A local stand-in for a Lambda Function URL: `python -m launchlab_app.function_url_shim`.

Each HTTP request on HOST:PORT becomes a Function URL event (payload format 2.0), the handler
named by _HANDLER (as the Lambda runtime reads it; default launchlab_app.lambda_handler.handler)
is called in-process with a Lambda-like context (or, with LAMBDA_INVOKE_URL set, sent to a
Lambda invoke API such as the image's runtime interface emulator), and its response is written
back. It sets the AWS_LAMBDA_* variables first, so the app reports launch_type "lambda".
Invocations run one at a time on one thread, like one Lambda execution environment. Served by
uvicorn, so the shim has the same PORT, keep-alive and SIGTERM behaviour as the ECS app.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from launchlab_app.serving import serve

LAMBDA_DEFAULTS = {
    "AWS_LAMBDA_FUNCTION_NAME": "launchlab-local",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
    "AWS_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
}
# Lambda refuses synchronous invoke payloads over 6 MB.
MAX_EVENT_BYTES = 6 * 1024 * 1024
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)
ACCOUNT_ID = "000000000000"
DEFAULT_HANDLER = "launchlab_app.lambda_handler.handler"


def load_handler(spec: str) -> Any:
    module, _, attr = spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def invoke_api_handler(invoke_url: str, timeout: float = 30.0) -> Any:
    """A handler that sends each event to a Lambda invoke API instead of running it here.

    The Lambda image's runtime interface emulator (RIE) speaks the invoke API, not Function
    URLs; with LAMBDA_INVOKE_URL set the shim turns HTTP into Function URL events and hands
    them to the real image (`launchlab demo --docker`)."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        request = urllib.request.Request(
            invoke_url,
            data=json.dumps(event).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    return handler


class LambdaContext:
    """The attributes of the Python runtime's context object that handlers use."""

    def __init__(self, request_id: str) -> None:
        env = {**LAMBDA_DEFAULTS, **os.environ}
        name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.aws_request_id = request_id
        self.function_name = name
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = (
            f"arn:aws:lambda:{env['AWS_REGION']}:{ACCOUNT_ID}:function:{name}"
        )
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(env["AWS_LAMBDA_FUNCTION_TIMEOUT"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith(TEXT_TYPES) or "+json" in content_type.lower()


def build_event(scope: dict[str, Any], body: bytes, request_id: str) -> dict[str, Any]:
    """A Function URL event (payload format 2.0) for one ASGI HTTP request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_query = scope["query_string"].decode("latin-1")
    now = time.time()
    client = scope.get("client") or ("127.0.0.1", 0)
    host = headers.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"],
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": host.split(".")[0],
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": scope["method"],
                "path": scope["path"],
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
                "sourceIp": client[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        params: dict[str, str] = {}
        from urllib.parse import parse_qsl

        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        text = None
        if _is_text(headers.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"error": {"status": status, "code": code, "message": message}}),
        "isBase64Encoded": False,
    }


def _set_thread_loop() -> None:
    # Mangum drives the app on the calling thread's event loop.
    asyncio.set_event_loop(asyncio.new_event_loop())


class FunctionUrlShim:
    """ASGI app that forwards each request to a Lambda handler as a Function URL event."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="invoke", initializer=_set_thread_loop
        )

    def invoke(self, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        try:
            result = self.handler(event, LambdaContext(request_id))
        except Exception as exc:  # a function error is a 502 from a Function URL
            print(f"handler raised: {exc!r}", file=sys.stderr)
            return _error(502, "lambda_error", "the function raised an error")
        if not isinstance(result, dict) or "statusCode" not in result:
            return _error(502, "lambda_error", "the function returned no statusCode")
        return result

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        result = await self._result(scope, receive)
        body = result.get("body") or ""
        payload = (
            base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        )
        headers = [
            (name.lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in (result.get("headers") or {}).items()
            if name.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        headers.extend((b"set-cookie", c.encode("latin-1")) for c in result.get("cookies") or [])
        headers.append((b"content-length", str(len(payload)).encode()))
        await send(
            {"type": "http.response.start", "status": int(result["statusCode"]), "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})

    async def _result(self, scope: dict[str, Any], receive: Any) -> dict[str, Any]:
        too_big = _error(
            413,
            "payload_too_large",
            f"request exceeds the Lambda payload limit ({MAX_EVENT_BYTES} bytes)",
        )
        for name, value in scope["headers"]:
            if (
                name.lower() == b"content-length"
                and value.isdigit()
                and int(value) > MAX_EVENT_BYTES
            ):
                return too_big
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _error(400, "bad_request", "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_EVENT_BYTES:
                return too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        request_id = str(uuid.uuid4())
        event = build_event(scope, b"".join(chunks), request_id)
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self.invoke, event, request_id
        )


def main() -> int:
    # What the Lambda runtime sets, unless the caller set it: the app then reports "lambda".
    for key, value in LAMBDA_DEFAULTS.items():
        os.environ.setdefault(key, value)
    invoke_url = os.environ.get("LAMBDA_INVOKE_URL")
    if invoke_url:
        shim_app = FunctionUrlShim(invoke_api_handler(invoke_url))
    else:
        # Lambda's init phase: import the handler before the first request.
        shim_app = FunctionUrlShim(load_handler(os.environ.get("_HANDLER") or DEFAULT_HANDLER))
    # The invoke thread and the HTTP loop share the GIL; the default 5 ms switch interval
    # would make each invocation wait for the loop thread to let go.
    sys.setswitchinterval(0.0005)
    return serve(shim_app, "function-url-shim")


if __name__ == "__main__":
    sys.exit(main())
