"""Fine-grained assertions on the synthesized templates: the properties that make each launch
type production-grade and the sandbox cheap and clean."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from stacks import names
from stacks.workloads import CONTAINER_USER, HEALTH_PATH, STOP_TIMEOUT_SECONDS
from tests.conftest import HASH_64, Synthesized, walk

ECS_STACKS = (names.ECS_EC2_STACK, names.FARGATE_STACK)


def template(synth: Synthesized, stack_name: str) -> Template:
    return Template.from_json(synth.template(stack_name))


# --- network --------------------------------------------------------------------------------


def test_no_nat_gateway_and_two_public_subnets_by_default(synth: Synthesized) -> None:
    network = template(synth, names.NETWORK_STACK)
    network.resource_count_is("AWS::EC2::NatGateway", 0)
    network.resource_count_is("AWS::EC2::Subnet", 2)
    network.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": True})


def test_nat_gateways_and_private_subnets_when_asked(variant: Synthesized) -> None:
    network = template(variant, names.NETWORK_STACK)
    network.resource_count_is("AWS::EC2::NatGateway", 1)
    network.resource_count_is("AWS::EC2::Subnet", 4)
    # With NAT, tasks move to private subnets and lose their public IPs.
    service = variant.only(names.FARGATE_STACK, "AWS::ECS::Service")
    awsvpc = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert awsvpc["AssignPublicIp"] == "DISABLED"
    launch_template = variant.only(names.ECS_EC2_STACK, "AWS::EC2::LaunchTemplate")
    data = launch_template["Properties"]["LaunchTemplateData"]
    assert "NetworkInterfaces" not in data or not data["NetworkInterfaces"][0].get(
        "AssociatePublicIpAddress"
    )


def test_services_reachable_only_from_their_alb(synth: Synthesized) -> None:
    for stack_name in ECS_STACKS:
        ingress = synth.resources(stack_name, "AWS::EC2::SecurityGroupIngress")
        open_to_world = [
            rule
            for rule in synth.resources(stack_name, "AWS::EC2::SecurityGroup").values()
            for rule in rule["Properties"].get("SecurityGroupIngress", [])
            if rule.get("CidrIp") == "0.0.0.0/0"
        ]
        # The internet reaches the ALB on port 80 only.
        assert [(r["FromPort"], r["ToPort"]) for r in open_to_world] == [(80, 80)]
        # Everything else comes from the ALB's security group, never from an address range.
        assert ingress, stack_name
        for rule in ingress.values():
            assert "CidrIp" not in rule["Properties"], rule
            source = rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            assert source.startswith("AlbSecurityGroup"), rule


# --- registry -------------------------------------------------------------------------------


def test_repositories_scan_immutable_lifecycle_and_empty_on_delete(synth: Synthesized) -> None:
    registry = template(synth, names.REGISTRY_STACK)
    registry.resource_count_is("AWS::ECR::Repository", 2)
    lifecycle = Capture()
    registry.all_resources(
        "AWS::ECR::Repository",
        {
            "Properties": Match.object_like(
                {
                    "ImageScanningConfiguration": {"ScanOnPush": True},
                    "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                    "ImageTagMutabilityExclusionFilters": [
                        {
                            "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                            "ImageTagMutabilityExclusionFilterValue": "cdk-*",
                        }
                    ],
                    "EmptyOnDelete": True,
                    "LifecyclePolicy": {"LifecyclePolicyText": lifecycle},
                }
            ),
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
        },
    )
    rules = json.loads(lifecycle.as_string())["rules"]
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 10,
    }
    names_found = {
        r["Properties"]["RepositoryName"]
        for r in synth.resources(names.REGISTRY_STACK, "AWS::ECR::Repository").values()
    }
    assert names_found == {"launchlab/node-app", "launchlab/python-app"}


def test_images_are_copied_into_our_repositories_during_deploy(synth: Synthesized) -> None:
    copies = synth.resources(names.REGISTRY_STACK, "Custom::CDKECRDeployment").values()
    copied_tags = set()
    for copy in copies:
        (source_tag,) = HASH_64.findall(json.dumps(copy["Properties"]["SrcImage"]))
        (dest_tag,) = HASH_64.findall(json.dumps(copy["Properties"]["DestImage"]))
        # The asset built from services/ lands in our repository under its content hash,
        # prefixed so that only these tags are exempt from immutability.
        assert source_tag == dest_tag
        assert f':cdk-{dest_tag}"' in json.dumps(copy["Properties"]["DestImage"])
        assert "cdk-hnb659fds-container-assets" in json.dumps(copy["Properties"]["SrcImage"])
        copied_tags.add(dest_tag)
    # node on EC2, python on Fargate, python's Lambda image: three builds, three copies.
    assert len(copied_tags) == 3
    # Every service and the function run exactly the tags that were copied.
    used_tags = {
        HASH_64.findall(json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"]))[0]
        for stack_name in ECS_STACKS
        for task in synth.resources(stack_name, "AWS::ECS::TaskDefinition").values()
    }
    function = synth.only(names.LAMBDA_STACK, "AWS::Lambda::Function")["Properties"]
    used_tags.add(HASH_64.findall(json.dumps(function["Code"]["ImageUri"]))[0])
    assert used_tags == copied_tags
    # Deploy order alone guarantees each image is in place before its consumer first pulls it.
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    for consumer in (names.ECS_EC2_STACK, names.FARGATE_STACK, names.LAMBDA_STACK):
        assert names.REGISTRY_STACK in manifest["artifacts"][consumer]["dependencies"]
    docker_assets = json.loads((synth.outdir / f"{names.REGISTRY_STACK}.assets.json").read_text())
    platforms = sorted(
        image["source"].get("platform", "") for image in docker_assets["dockerImages"].values()
    )
    assert platforms == ["linux/amd64"] * 3


def test_registry_exports_do_not_depend_on_which_app_runs_where(
    synth: Synthesized, variant: Synthesized
) -> None:
    """Swapping apps between launch types must not drop an export a deployed stack imports
    (CloudFormation refuses to update an export that is in use)."""

    def exports(synthesized: Synthesized) -> set[str]:
        outputs = synthesized.template(names.REGISTRY_STACK).get("Outputs", {})
        return {o["Export"]["Name"] for o in outputs.values() if "Export" in o}

    assert len(exports(synth)) >= 4
    assert exports(synth) == exports(variant)


def test_lambda_may_pull_only_for_functions_of_this_account(synth: Synthesized) -> None:
    """The Lambda service principal's pull grant is scoped to this account's functions, so no
    other account's function can name our image (confused deputy)."""
    policies = [
        repository["Properties"]["RepositoryPolicyText"]
        for repository in synth.resources(names.REGISTRY_STACK, "AWS::ECR::Repository").values()
        if "RepositoryPolicyText" in repository["Properties"]
    ]
    lambda_statements = [
        statement
        for policy in policies
        for statement in policy["Statement"]
        if statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    ]
    assert len(lambda_statements) == 1  # python-app: the image the function runs
    (statement,) = lambda_statements
    assert statement["Effect"] == "Allow"
    assert statement["Condition"] == {
        "StringLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":lambda:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":function:*",
                    ],
                ]
            }
        }
    }


def test_image_tag_deploys_an_existing_tag_without_building(variant: Synthesized) -> None:
    assert variant.resources(names.REGISTRY_STACK, "Custom::CDKECRDeployment") == {}
    assets = json.loads((variant.outdir / f"{names.REGISTRY_STACK}.assets.json").read_text())
    assert assets.get("dockerImages", {}) == {}
    image = variant.only(names.FARGATE_STACK, "AWS::ECS::TaskDefinition")["Properties"][
        "ContainerDefinitions"
    ][0]["Image"]
    assert json.dumps(image).endswith(':v1.2.3"]]}')
    code = variant.only(names.LAMBDA_STACK, "AWS::Lambda::Function")["Properties"]["Code"]
    assert json.dumps(code["ImageUri"]).endswith(':v1.2.3-lambda"]]}')


# --- ECS, both launch types -----------------------------------------------------------------


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_rollouts_are_safe_and_quick(synth: Synthesized, stack_name: str) -> None:
    template(synth, stack_name).has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": {
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                "MinimumHealthyPercent": 100,
                "MaximumPercent": 200,
            },
            "HealthCheckGracePeriodSeconds": 60,
        },
    )


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_service_waits_for_its_capacity_providers(synth: Synthesized, stack_name: str) -> None:
    """Created after, and deleted before, the cluster's capacity provider associations: else
    create fails on an unassociated provider and destroy on a provider still in use."""
    (association,) = synth.resources(stack_name, "AWS::ECS::ClusterCapacityProviderAssociations")
    service = synth.only(stack_name, "AWS::ECS::Service")
    assert association in service["DependsOn"]
    strategy = service["Properties"]["CapacityProviderStrategy"]
    associated = synth.template(stack_name)["Resources"][association]["Properties"]
    providers = json.dumps(associated["CapacityProviders"])
    for entry in strategy:
        assert json.dumps(entry["CapacityProvider"]) in providers or (
            entry["CapacityProvider"] in associated["CapacityProviders"]
        )


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_alb_health_check_and_drain(synth: Synthesized, stack_name: str) -> None:
    group = synth.only(stack_name, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert group["HealthCheckPath"] == HEALTH_PATH
    # On EC2 each task listens on a dynamic host port; the check must follow it.
    assert group["HealthCheckPort"] == "traffic-port"
    assert group["HealthCheckIntervalSeconds"] <= 10
    assert group["Matcher"] == {"HttpCode": "200"}
    delay = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert int(delay["deregistration_delay.timeout_seconds"]) <= 30
    lb = synth.only(stack_name, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert lb["Scheme"] == "internet-facing"


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_container_is_hardened(synth: Synthesized, stack_name: str) -> None:
    (container,) = synth.only(stack_name, "AWS::ECS::TaskDefinition")["Properties"][
        "ContainerDefinitions"
    ]
    assert container["User"] == CONTAINER_USER
    assert container["ReadonlyRootFilesystem"] is True
    assert container["StopTimeout"] == STOP_TIMEOUT_SECONDS
    assert container["HealthCheck"]["Command"][0] == "CMD"
    assert container["HealthCheck"]["Interval"] == 10
    assert container["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}
    ]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["LogConfiguration"]["Options"]["mode"] == "non-blocking"


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_task_and_execution_roles_are_separate_and_narrow(
    synth: Synthesized, stack_name: str
) -> None:
    task_definition = synth.only(stack_name, "AWS::ECS::TaskDefinition")["Properties"]
    task_role = task_definition["TaskRoleArn"]["Fn::GetAtt"][0]
    execution_role = task_definition["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert task_role != execution_role
    policies = synth.resources(stack_name, "AWS::IAM::Policy").values()
    for policy in policies:
        roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        actions = [a for s in statements for a in _as_list(s["Action"])]
        # The app needs no AWS permissions: its task role has no policy at all.
        assert task_role not in roles
        assert not any(a == "*" or a.endswith(":*") for a in actions), policy
        if execution_role in roles:
            wildcard = [s for s in statements if s["Resource"] == "*"]
            assert [s["Action"] for s in wildcard] == ["ecr:GetAuthorizationToken"]


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_logs_kept_thirty_days_and_deleted_with_stack(synth: Synthesized, stack_name: str) -> None:
    template(synth, stack_name).all_resources(
        "AWS::Logs::LogGroup",
        {
            "Properties": Match.object_like({"RetentionInDays": 30}),
            "DeletionPolicy": "Delete",
        },
    )


@pytest.mark.parametrize("stack_name", ECS_STACKS)
def test_target_tracking_autoscaling(synth: Synthesized, stack_name: str) -> None:
    ecs = template(synth, stack_name)
    ecs.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 4}
    )
    ecs.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    },
                    "TargetValue": 60,
                }
            ),
        },
    )


def test_request_count_scaling_when_asked(variant: Synthesized) -> None:
    policy = variant.only(names.FARGATE_STACK, "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ALBRequestCountPerTarget"
    )
    assert config["TargetValue"] == 500


def test_container_insights_switch(synth: Synthesized, variant: Synthesized) -> None:
    for stack_name in ECS_STACKS:
        for synthesized, expected in ((synth, "disabled"), (variant, "enabled")):
            cluster = synthesized.only(stack_name, "AWS::ECS::Cluster")["Properties"]
            assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": expected}]


def test_https_listener_and_redirect_with_certificate(variant: Synthesized) -> None:
    for stack_name in ECS_STACKS:
        listeners = variant.resources(stack_name, "AWS::ElasticLoadBalancingV2::Listener")
        by_port = {x["Properties"]["Port"]: x["Properties"] for x in listeners.values()}
        assert by_port[443]["Protocol"] == "HTTPS"
        assert by_port[443]["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:")
        # TLS 1.3 and 1.2 only: AWS's recommended policy (CDK's SslPolicy.RECOMMENDED_TLS).
        assert by_port[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        assert by_port[80]["DefaultActions"][0]["Type"] == "redirect"


# --- ECS on EC2 -----------------------------------------------------------------------------


def test_ec2_capacity_provider_scales_and_never_blocks_destroy(synth: Synthesized) -> None:
    template(synth, names.ECS_EC2_STACK).has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": Match.object_like(
                {
                    "ManagedScaling": Match.object_like(
                        {"Status": "ENABLED", "TargetCapacity": 100}
                    ),
                    "ManagedTerminationProtection": "DISABLED",
                }
            )
        },
    )
    group = synth.only(names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert group["MinSize"] == "1" and group["MaxSize"] == "2"
    assert group.get("NewInstancesProtectedFromScaleIn") in (None, False)


def test_ec2_instances_imdsv2_encrypted_ssm_no_ssh(synth: Synthesized) -> None:
    data = synth.only(names.ECS_EC2_STACK, "AWS::EC2::LaunchTemplate")["Properties"][
        "LaunchTemplateData"
    ]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["InstanceType"] == "t3.small"
    (device,) = data["BlockDeviceMappings"]
    assert device["Ebs"] == {
        "DeleteOnTermination": True,
        "Encrypted": True,
        "VolumeSize": 30,
        "VolumeType": "gp3",
    }
    assert "KeyName" not in data
    # CDK wrote the cluster's name into the instances' ECS agent config.
    user_data = json.dumps(data["UserData"])
    assert "ECS_CLUSTER=" in user_data and '"Ref": "ClusterEB0386A7"' in user_data
    # The AMI is resolved at deploy time from the public SSM parameter.
    image_parameter = data["ImageId"]["Ref"]
    parameter = synth.template(names.ECS_EC2_STACK)["Parameters"][image_parameter]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert parameter["Default"] == (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    )
    (instance_role,) = [
        role
        for role in synth.resources(names.ECS_EC2_STACK, "AWS::IAM::Role").values()
        if "ec2.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    managed = json.dumps(instance_role["Properties"]["ManagedPolicyArns"])
    assert "AmazonSSMManagedInstanceCore" in managed
    for group in synth.resources(names.ECS_EC2_STACK, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("FromPort") != 22


def test_ec2_tasks_use_bridge_mode_and_dynamic_ports(synth: Synthesized) -> None:
    task_definition = synth.only(names.ECS_EC2_STACK, "AWS::ECS::TaskDefinition")["Properties"]
    assert task_definition["NetworkMode"] == "bridge"
    assert task_definition["RequiresCompatibilities"] == ["EC2"]
    (container,) = task_definition["ContainerDefinitions"]
    assert container["PortMappings"] == [{"ContainerPort": 8080, "HostPort": 0, "Protocol": "tcp"}]
    assert container["Cpu"] == 256 and container["Memory"] == 512
    # The default app on EC2 is the Node app.
    assert container["HealthCheck"]["Command"] == ["CMD", "node", "/app/src/healthcheck.js"]


def test_graviton_instances_get_the_arm_ami_and_arm_images(variant: Synthesized) -> None:
    data = variant.only(names.ECS_EC2_STACK, "AWS::EC2::LaunchTemplate")["Properties"][
        "LaunchTemplateData"
    ]
    parameter = variant.template(names.ECS_EC2_STACK)["Parameters"][data["ImageId"]["Ref"]]
    assert parameter["Default"] == (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
    )


# --- Fargate --------------------------------------------------------------------------------


def test_fargate_task_size_platform_and_public_ip(synth: Synthesized) -> None:
    task_definition = synth.only(names.FARGATE_STACK, "AWS::ECS::TaskDefinition")["Properties"]
    assert (task_definition["Cpu"], task_definition["Memory"]) == ("256", "512")
    assert task_definition["NetworkMode"] == "awsvpc"
    assert task_definition["RuntimePlatform"] == {
        "CpuArchitecture": "X86_64",
        "OperatingSystemFamily": "LINUX",
    }
    (container,) = task_definition["ContainerDefinitions"]
    assert container["HealthCheck"]["Command"] == [
        "CMD",
        "python",
        "-m",
        "launchlab_app.healthcheck",
    ]
    service = synth.only(names.FARGATE_STACK, "AWS::ECS::Service")["Properties"]
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"


def test_fargate_spot_arm64_and_bigger_tasks(variant: Synthesized) -> None:
    task_definition = variant.only(names.FARGATE_STACK, "AWS::ECS::TaskDefinition")["Properties"]
    assert (task_definition["Cpu"], task_definition["Memory"]) == ("1024", "2048")
    assert task_definition["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    service = variant.only(names.FARGATE_STACK, "AWS::ECS::Service")["Properties"]
    # fargateSpotShare=50: the first task on demand, the rest split 1:1 with Fargate Spot.
    assert service["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
    ]


# --- Lambda ---------------------------------------------------------------------------------


def test_lambda_is_an_image_from_our_repository_behind_a_function_url(
    synth: Synthesized,
) -> None:
    function = synth.only(names.LAMBDA_STACK, "AWS::Lambda::Function")["Properties"]
    assert function["PackageType"] == "Image"
    assert function["Architectures"] == ["x86_64"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 10
    assert "ReservedConcurrentExecutions" not in function
    assert "LogGroup" in function["LoggingConfig"]
    image_uri = json.dumps(function["Code"]["ImageUri"])
    # Our python-app repository, read from the registry stack, at the tag its copy writes.
    assert names.REGISTRY_STACK in image_uri and "PythonApp" in image_uri
    assert HASH_64.search(image_uri)
    lambda_template = template(synth, names.LAMBDA_STACK)
    lambda_template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    lambda_template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "NONE", "Principal": "*"},
    )
    # Since October 2025 a public Function URL also needs lambda:InvokeFunction, limited to
    # calls that come through the URL.
    lambda_template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": True, "Principal": "*"},
    )
    lambda_template.resource_count_is("AWS::ApiGatewayV2::Api", 0)


def test_lambda_role_writes_only_its_own_logs(synth: Synthesized) -> None:
    policies = synth.resources(names.LAMBDA_STACK, "AWS::IAM::Policy").values()
    (statement,) = [
        statement
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"]["Fn::GetAtt"][0].startswith("FunctionLogs")
    role = synth.only(names.LAMBDA_STACK, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role


def test_lambda_http_api_arm64_and_concurrency_cap(variant: Synthesized) -> None:
    function = variant.only(names.LAMBDA_STACK, "AWS::Lambda::Function")["Properties"]
    assert function["Architectures"] == ["arm64"]
    assert function["ReservedConcurrentExecutions"] == 5
    assert function["Timeout"] == 20
    lambda_template = template(variant, names.LAMBDA_STACK)
    lambda_template.resource_count_is("AWS::Lambda::Url", 0)
    lambda_template.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})


# --- every stack ----------------------------------------------------------------------------


def test_every_lambda_function_logs_to_a_group_its_stack_deletes(synth: Synthesized) -> None:
    for stack_name, stack_template in synth.templates.items():
        resources = stack_template["Resources"]
        groups = {
            json.dumps(r["Properties"].get("LogGroupName"), sort_keys=True): logical_id
            for logical_id, r in resources.items()
            if r["Type"] == "AWS::Logs::LogGroup"
        }
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            config = resource["Properties"].get("LoggingConfig", {})
            if "LogGroup" in config:
                group_id = config["LogGroup"]["Ref"]
            else:
                name = {"Fn::Join": ["", ["/aws/lambda/", {"Ref": logical_id}]]}
                group_id = groups.get(json.dumps(name, sort_keys=True))
            assert group_id, f"{stack_name}/{logical_id} has no log group of its own"
            group = resources[group_id]
            assert group["DeletionPolicy"] == "Delete", f"{stack_name}/{group_id}"
            assert group["Properties"]["RetentionInDays"] == 30


def test_no_lambda_role_may_create_a_log_group(synth: Synthesized) -> None:
    """A handler's last lines must not recreate a log group after the stack deleted it
    (aws/aws-cdk#31487): every function's role is denied logs:CreateLogGroup by a policy that
    exists before the function and goes after it."""
    functions = 0
    for stack_name, stack_template in synth.templates.items():
        resources = stack_template["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            denials = [
                policy_id
                for policy_id in resource.get("DependsOn", [])
                if resources[policy_id]["Type"] == "AWS::IAM::Policy"
                and {"Ref": role_id} in resources[policy_id]["Properties"]["Roles"]
                and {
                    "Sid": "LogGroupsBelongToTheStack",
                    "Effect": "Deny",
                    "Action": "logs:CreateLogGroup",
                    "Resource": "*",
                }
                in resources[policy_id]["Properties"]["PolicyDocument"]["Statement"]
            ]
            assert denials, f"{stack_name}/{logical_id}: its role may create log groups"
    # the app's function, the VPC's default-SG handler, the image copier, the ASG teardown
    assert functions >= 3


def test_every_taggable_resource_carries_project_launch_type_and_stage(
    synth: Synthesized,
) -> None:
    expected_launch_type = {
        names.NETWORK_STACK: "shared",
        names.REGISTRY_STACK: "shared",
        names.ECS_EC2_STACK: "ecs-ec2",
        names.FARGATE_STACK: "fargate",
        names.LAMBDA_STACK: "lambda",
    }
    tagged = 0
    for stack_name, stack_template in synth.templates.items():
        for logical_id, resource in stack_template["Resources"].items():
            tags = resource["Properties"].get("Tags") if "Properties" in resource else None
            if not isinstance(tags, list):
                continue
            keys = {t["Key"]: t.get("Value") for t in tags}
            assert keys.get(names.TAG_PROJECT) == "launchlab", f"{stack_name}/{logical_id}"
            assert keys.get(names.TAG_LAUNCH_TYPE) == expected_launch_type[stack_name]
            assert keys.get(names.TAG_STAGE) == "sandbox"
            tagged += 1
    assert tagged >= 30
    # The billable resources the cost split relies on are among them.
    for stack_name, resource_type in (
        (names.ECS_EC2_STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"),
        (names.FARGATE_STACK, "AWS::ECS::Service"),
        (names.LAMBDA_STACK, "AWS::Lambda::Function"),
        (names.REGISTRY_STACK, "AWS::ECR::Repository"),
    ):
        for resource in synth.resources(stack_name, resource_type).values():
            assert "Tags" in resource["Properties"], (stack_name, resource_type)
    group = synth.only(names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert {t["Key"] for t in group["Tags"] if t["PropagateAtLaunch"]} >= {
        names.TAG_PROJECT,
        names.TAG_LAUNCH_TYPE,
    }


def test_app_tag_names_what_runs_where(synth: Synthesized, variant: Synthesized) -> None:
    def app(synthesized: Synthesized, stack_name: str, resource_type: str) -> str:
        tags = synthesized.only(stack_name, resource_type)["Properties"]["Tags"]
        return next(t["Value"] for t in tags if t["Key"] == names.TAG_APP)

    assert app(synth, names.ECS_EC2_STACK, "AWS::ECS::TaskDefinition") == "node-app"
    assert app(synth, names.FARGATE_STACK, "AWS::ECS::TaskDefinition") == "python-app"
    assert app(variant, names.ECS_EC2_STACK, "AWS::ECS::TaskDefinition") == "python-app"
    assert app(variant, names.FARGATE_STACK, "AWS::ECS::TaskDefinition") == "node-app"
    assert app(synth, names.LAMBDA_STACK, "AWS::Lambda::Function") == "python-app"


def test_owner_tag_when_set(variant: Synthesized) -> None:
    function = variant.only(names.LAMBDA_STACK, "AWS::Lambda::Function")["Properties"]
    assert {"Key": names.TAG_OWNER, "Value": "platform-team"} in function["Tags"]


def test_outputs_name_every_endpoint_and_resource(synth: Synthesized) -> None:
    outputs = {name: set(t.get("Outputs", {})) for name, t in synth.templates.items()}
    assert {"EndpointUrl", "ClusterName", "ServiceName"} <= outputs[names.ECS_EC2_STACK]
    assert {"EndpointUrl", "ClusterName", "ServiceName"} <= outputs[names.FARGATE_STACK]
    assert {"EndpointUrl", "FunctionName"} <= outputs[names.LAMBDA_STACK]
    assert {"NodeAppRepositoryUri", "PythonAppRepositoryUri"} <= outputs[names.REGISTRY_STACK]


def test_synth_needs_no_account_and_looks_nothing_up(synth: Synthesized) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            assert artifact["environment"] == "aws://unknown-account/unknown-region"
    for stack_template in synth.templates.values():
        for value in walk(stack_template):
            if isinstance(value, str):
                assert "dummy-value-for-" not in value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
