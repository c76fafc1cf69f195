"""launchlab python-app: the services/openapi.yaml contract as a Starlette ASGI app.

Runs under uvicorn on ECS (``python -m launchlab_app``) and under Mangum on Lambda
(``launchlab_app.lambda_handler.handler``).
"""
