"""Stack ids, tag keys and the other names more than one module needs."""

PROJECT = "launchlab"

NETWORK_STACK = "LaunchlabNetwork"
REGISTRY_STACK = "LaunchlabRegistry"
ECS_EC2_STACK = "LaunchlabEcsEc2"
FARGATE_STACK = "LaunchlabFargate"
LAMBDA_STACK = "LaunchlabLambda"

ALL_STACKS = (NETWORK_STACK, REGISTRY_STACK, ECS_EC2_STACK, FARGATE_STACK, LAMBDA_STACK)

TAG_PROJECT = "launchlab:project"
TAG_LAUNCH_TYPE = "launchlab:launch-type"
TAG_STAGE = "launchlab:stage"
TAG_OWNER = "launchlab:owner"
# On task definitions and functions: which sample app (services/<app>) runs there.
TAG_APP = "launchlab:app"

# Values of TAG_LAUNCH_TYPE, also what the report groups cost by.
LAUNCH_TYPE_SHARED = "shared"
LAUNCH_TYPE_ECS_EC2 = "ecs-ec2"
LAUNCH_TYPE_FARGATE = "fargate"
LAUNCH_TYPE_LAMBDA = "lambda"
