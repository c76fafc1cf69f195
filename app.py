#!/usr/bin/env python3
"""The launchlab CDK app: reads the config once from CDK context and builds every stack.

Run it through the pinned CLI: ``npx cdk synth`` (see cdk.json). A bad config value stops
synth with one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import sys

from stacks.toolchain import use_project_node

use_project_node()  # before aws_cdk loads jsii

from stacks.config import ConfigError  # noqa: E402
from stacks.launchlab_app import create_app  # noqa: E402


def main() -> int:
    try:
        app, _ = create_app()
    except ConfigError as error:
        print(f"launchlab: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
