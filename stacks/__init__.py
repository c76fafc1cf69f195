"""launchlab infrastructure: one module per stack, shared constructs under ``constructs/``.

Importing this package must stay free of ``aws_cdk`` so that :mod:`stacks.toolchain` can point
jsii at the project's Node.js before the CDK libraries load.
"""
