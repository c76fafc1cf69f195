"""The baseline for bench/synth.py: the smallest CDK app, one S3 bucket in one stack."""

from stacks.toolchain import use_project_node

use_project_node()

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402

# Built-in CloudFormation validation off, as in the launchlab app (stacks/launchlab_app.py),
# so the two differ only in what they build.
app = cdk.App(builtin_cloud_formation_validation=False)
s3.Bucket(cdk.Stack(app, "OneBucket"), "Bucket")
app.synth()
