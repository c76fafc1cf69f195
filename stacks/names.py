"""Stack ids, tag keys and the other names more than one module needs.

Launch types are declared in stacks/launch_types.py; the stack ids below are read from there.
"""

from stacks.launch_types import BY_KEY, DEFAULT_KEYS, SHARED

PROJECT = "launchlab"

NETWORK_STACK = "LaunchlabNetwork"
REGISTRY_STACK = "LaunchlabRegistry"
SHARED_STACKS = (NETWORK_STACK, REGISTRY_STACK)
# What a default `cdk deploy --all` creates, in deploy order.
DEFAULT_STACKS = (*SHARED_STACKS, *(BY_KEY[key].stack_id for key in DEFAULT_KEYS))

# Kept for the tests' readability only; code reads the registry.
ECS_EC2_STACK = BY_KEY["ecs-ec2"].stack_id
FARGATE_STACK = BY_KEY["fargate"].stack_id
LAMBDA_STACK = BY_KEY["lambda"].stack_id

TAG_PROJECT = "launchlab:project"
TAG_LAUNCH_TYPE = "launchlab:launch-type"
TAG_STAGE = "launchlab:stage"
TAG_OWNER = "launchlab:owner"
# On task definitions and functions: which sample app (services/<app>) runs there.
TAG_APP = "launchlab:app"

# The value of TAG_LAUNCH_TYPE on the network and registry stacks; the others carry their key.
LAUNCH_TYPE_SHARED = SHARED

# The opt-in launch types of issue 11, until their registry lines (stacks/launch_types.py) come:
# stack ids and launch-type keys, read by their nag suppressions, checkov skips and tests.
ECS_MANAGED_INSTANCES_STACK = "LaunchlabEcsManagedInstances"
EXPRESS_STACK = "LaunchlabExpress"
LAMBDA_MANAGED_INSTANCES_STACK = "LaunchlabLambdaManagedInstances"
LAUNCH_TYPE_ECS_MANAGED_INSTANCES = "ecs-managed-instances"
LAUNCH_TYPE_EXPRESS = "express"
LAUNCH_TYPE_LAMBDA_MANAGED_INSTANCES = "lambda-managed-instances"
