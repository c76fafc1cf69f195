"""`python -m launchlab_app`: the ECS image's command (uvicorn on PORT, default 8080)."""

import sys

from launchlab_app.serving import serve

if __name__ == "__main__":
    sys.exit(serve("launchlab_app.main:app", "python-app"))
