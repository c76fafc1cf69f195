"""Lambda entry point: `launchlab_app.lambda_handler.handler`.

The same ASGI app through Mangum, for Function URL and API Gateway HTTP API (payload 2.0)
events. Lifespan is off: the app has no startup work, and a lifespan cycle per invoke costs time.
"""

from mangum import Mangum

from launchlab_app.main import app

handler = Mangum(app, lifespan="off")
