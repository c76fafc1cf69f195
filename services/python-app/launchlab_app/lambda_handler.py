"""Lambda entry point: `launchlab_app.lambda_handler.handler`.

The same ASGI app through Mangum, for Function URL and API Gateway HTTP API (payload 2.0)
events. Lifespan is off: the app has no startup work, and a lifespan cycle per invoke costs time.
"""

import asyncio
from typing import Any

from mangum import Mangum

from launchlab_app.main import app

_mangum = Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Mangum runs each invoke on the thread's current event loop, which it sets up once, when
    # it is made. Anything that ran asyncio.run() on this thread since (a local runner, a test)
    # leaves the thread with none, and every invoke would fail: set one up again, as Mangum does.
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return _mangum(event, context)
