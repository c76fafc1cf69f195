"""The one TLS context every HTTP client of the toolkit shares.

httpx builds a new ``ssl.SSLContext`` for each client it makes, loading certifi's CA bundle
each time: about 30 ms of CPU per client, whether the URL is HTTPS or not. `wait_ready`
polled a starting workload every 50 ms with a new client per poll, so it spent most of a core
building contexts while the workload it waited for started on the same machine. A context is
made to be shared by many connections, so each process makes one, the first time a client
needs it, the way httpx would have (its defaults, SSL_CERT_FILE and SSL_CERT_DIR included).
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def context() -> ssl.SSLContext:
    import httpx  # 0.1 s, and only the commands that make requests need it

    return httpx.create_ssl_context()
