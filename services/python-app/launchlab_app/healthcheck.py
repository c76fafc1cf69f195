"""Container health check: `python -m launchlab_app.healthcheck` exits 0 when GET /health is 200."""

import http.client
import os
import sys


def main() -> int:
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT") or 8080), timeout=2)
    try:
        conn.request("GET", "/health")
        return 0 if conn.getresponse().status == 200 else 1
    except OSError:
        return 1
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
