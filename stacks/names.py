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

# Kept for the tests' readability only, like the three above.
ECS_MANAGED_INSTANCES_STACK = BY_KEY["ecs-managed-instances"].stack_id
EXPRESS_STACK = BY_KEY["express"].stack_id
LAMBDA_MANAGED_INSTANCES_STACK = BY_KEY["lambda-managed-instances"].stack_id
