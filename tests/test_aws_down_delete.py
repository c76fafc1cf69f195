"""`launchlab down --delete-leftovers` (launchlab/aws/down.py delete_certain), row by row:
which leftover goes in which order, with which request, and what the table says became of
each; and the VPC endpoints the scan prices. The clients are botocore clients a Stubber
answers: each request is checked against the service model and the parameters it must carry,
and AWS's refusals (a managed instance, a resource in use) are its documented answers, which
moto does not give. tests/test_aws_down_scan.py deletes in moto the leftovers it made."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import Stubber
from rich.console import Console

from launchlab.aws import down
from launchlab.aws.down import Leftover
from launchlab.aws.sandbox import Sandbox
from launchlab.report.prices import RegionPrices, load_table
from tests.moto_server import OfflineSandbox as _Sandbox
from tests.moto_server import offline_client

REGION = "us-east-1"
ARN = f"arn:aws:{{}}:{REGION}:123456789012:{{}}"


def _left(kind: str, identifier: str, certain: bool = True, **more: Any) -> Leftover:
    return Leftover(kind, identifier, "a direct look", Decimal(0), certain=certain, **more)


def _cells(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip()[1:-1].split(line.strip()[0])]
        for line in text.splitlines()
        if line.strip()[:1] in ("┃", "│")
    ]


def test_each_certain_leftover_is_deleted_in_order_and_the_rest_are_said_why() -> None:
    services = ("autoscaling", "cloudformation", "ec2", "ecr", "logs", "cloudwatch", "elbv2")
    clients = {service: offline_client(service) for service in services}
    stubs = {service: Stubber(client) for service, client in clients.items()}
    stack = ARN.format("cloudformation", "stack/LaunchlabFargate/1")
    group = ARN.format("autoscaling", "autoScalingGroup:1:autoScalingGroupName/lt-group")
    repository = ARN.format("ecr", "repository/launchlab-app")
    log_group = ARN.format("logs", "log-group:/launchlab/app:*")
    alarm = ARN.format("cloudwatch", "alarm:TargetTracking-high")
    balancer = ARN.format("elasticloadbalancing", "loadbalancer/app/lb/1")
    leftovers = [
        _left("ec2:vpc", "vpc-1"),
        _left("logs:log-group", log_group),
        _left("ec2:instance", "i-managed", detail="t4g.small, managed by ecs.amazonaws.com"),
        _left("ec2:instance", ARN.format("ec2", "instance/i-mine"), detail="t3.small, running"),
        _left("ec2:security-group", "sg-held"),
        _left("cloudformation:stack", stack),
        _left("ecr:repository", repository),
        _left("ec2:volume", "vol-1", certain=False),
        _left("autoscaling:autoScalingGroup", group),
        _left("cloudwatch:alarm", alarm),
        _left("elasticloadbalancing:loadbalancer", balancer),
        _left("ec2:elastic-ip", "eipalloc-1"),
        _left("sns:topic", ARN.format("sns", "topic")),
    ]
    summary = {
        "LogicalResourceId": "G", "PhysicalResourceId": "sg-held",
        "ResourceType": "AWS::EC2::SecurityGroup", "ResourceStatus": "DELETE_FAILED",
        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    gone = {**summary, "PhysicalResourceId": "vpc-1", "ResourceStatus": "DELETE_COMPLETE"}
    stubs["cloudformation"].add_response(
        "list_stack_resources", {"StackResourceSummaries": [summary, gone]}, {"StackName": stack}
    )
    stubs["autoscaling"].add_response(
        "delete_auto_scaling_group", {}, {"AutoScalingGroupName": "lt-group", "ForceDelete": True}
    )
    stubs["ec2"].add_response("terminate_instances", {}, {"InstanceIds": ["i-mine"]})
    stubs["elbv2"].add_client_error(
        "delete_load_balancer",
        "OperationNotPermitted",
        "deletion protection is on",
        expected_params={"LoadBalancerArn": balancer},
    )
    stubs["ec2"].add_response("release_address", {}, {"AllocationId": "eipalloc-1"})
    stubs["logs"].add_response("delete_log_group", {}, {"logGroupName": "/launchlab/app"})
    stubs["ecr"].add_response(
        "delete_repository", {}, {"repositoryName": "launchlab-app", "force": True}
    )
    stubs["cloudwatch"].add_response("delete_alarms", {}, {"AlarmNames": ["TargetTracking-high"]})
    stubs["ec2"].add_response("delete_vpc", {}, {"VpcId": "vpc-1"})
    out = io.StringIO()
    for stub in stubs.values():
        stub.activate()
    try:
        down.delete_certain(_Sandbox(clients), leftovers, Console(file=out, width=400))
        for stub in stubs.values():
            stub.assert_no_pending_responses()
    finally:
        for stub in stubs.values():
            stub.deactivate()
    text = out.getvalue()
    assert text.splitlines()[0].strip() == "--delete-leftovers in us-east-1"
    assert _cells(text) == [
        ["kind", "resource", "done"],
        ["autoscaling:autoScalingGroup", group, "deleted"],
        ["ec2:instance", ARN.format("ec2", "instance/i-mine"), "terminating"],
        ["ec2:instance", "i-managed",
         "left: managed by a service, which terminates it; not deletable by hand"],
        ["elasticloadbalancing:loadbalancer", balancer,
         "not deleted: OperationNotPermitted: deletion protection is on"],
        ["ec2:elastic-ip", "eipalloc-1", "deleted"],
        ["ec2:security-group", "sg-held",
         "left: part of stack " + stack + ", which goes with it"],
        ["ec2:volume", "vol-1",
         "left for you: found by a direct look only, not certainly launchlab's"],
        ["logs:log-group", log_group, "deleted"],
        ["ecr:repository", repository, "deleted"],
        ["cloudwatch:alarm", alarm, "deleted"],
        ["ec2:vpc", "vpc-1", "deleted"],
        ["cloudformation:stack", stack,
         "left: `.venv/bin/launchlab down` deletes stacks (see above)"],
        ["sns:topic", ARN.format("sns", "topic"),
         "left for you: no way to delete a sns:topic here"],
    ]  # fmt: skip


@pytest.fixture(scope="module")
def prices() -> RegionPrices:
    return load_table().region(REGION)


def _endpoint(kind: str, state: str, **more: Any) -> dict[str, Any]:
    return {"VpcEndpointId": "vpce-1", "VpcEndpointType": kind, "State": state,
            "ServiceName": "com.amazonaws.us-east-1.ecr.dkr", **more}  # fmt: skip


def test_an_interface_endpoint_bills_per_zone_a_gateway_endpoint_nothing(
    prices: RegionPrices,
) -> None:
    hour = prices.per_hour("vpc.interface_endpoint_hour")
    tags = [{"Key": "launchlab:project", "Value": "launchlab"}]
    found = down._endpoint_leftover(
        _endpoint("Interface", "Available", SubnetIds=["s-1", "s-2"], Tags=tags), prices, "x"
    )
    assert found == Leftover(
        "ec2:vpc-endpoint", "vpce-1", "x", 2 * hour,
        "com.amazonaws.us-east-1.ecr.dkr: interface in 2 AZ(s), available", certain=True,
    )  # fmt: skip
    gateway = down._endpoint_leftover(_endpoint("Gateway", "available"), prices, "x")
    assert gateway == Leftover(
        "ec2:vpc-endpoint", "vpce-1", "x", Decimal(0),
        "com.amazonaws.us-east-1.ecr.dkr: gateway, available",
    )  # fmt: skip
    for state in ("Deleted", "rejected", "failed", "expired"):
        assert down._endpoint_leftover(_endpoint("Interface", state), prices, "x") is None
    pending = down._endpoint_leftover(_endpoint("Interface", "pending"), prices, "x")
    assert pending is not None and pending.detail.endswith("interface in 0 AZ(s), pending")


@pytest.fixture
def down_parts(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`down` with its two halves stood in: the stack deletion (teardown.delete_stacks, tested
    in tests/test_aws_teardown_steps.py) and the leftover scan (report_leftovers, tested in
    tests/test_aws_down_scan.py); what each was asked, and what the deletion gives back."""
    from launchlab.aws import teardown

    parts: dict[str, Any] = {"asked": [], "outcome": teardown.Teardown(), "leftovers": 0}

    def delete_stacks(sandbox: Sandbox, console: Console) -> teardown.Teardown:
        parts["asked"].append("delete")
        outcome = parts["outcome"]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    def report(sandbox: Sandbox, console: Console, *, delete: bool = False) -> int:
        parts["asked"].append(f"scan delete={delete}")
        return int(parts["leftovers"])

    monkeypatch.setattr(down, "check_credentials", lambda sandbox: "123456789012")
    monkeypatch.setattr(teardown, "delete_stacks", delete_stacks)
    monkeypatch.setattr(down, "report_leftovers", report)
    return parts


def test_down_says_what_was_not_deleted_then_scans(
    down_parts: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from launchlab.aws import teardown

    # AWS's words, brackets and all, longer than the terminal is wide.
    in_use = (
        "resource sg-0abc has a dependent object [eni-0123456789abcdef0, eni-0fedcba9876543210] "
        "(Service: Ec2, Status Code: 400)"
    )
    down_parts["outcome"] = teardown.Teardown(
        found=["A", "B"], failed={"A": in_use}, kept={"B": "A must be deleted first"}
    )
    out = io.StringIO()
    # A colour terminal: AWS's reason comes out whole and as written, numbers unstyled.
    console = Console(file=out, width=120, force_terminal=True, color_system="standard")
    code = down.down(_Sandbox({}), {"fargateCpu": "512"}, console)
    assert code == 0 and down_parts["asked"] == ["delete", "scan delete=False"]
    assert out.getvalue().splitlines() == [
        "note: down finds the deployed stacks itself; -c is not needed and was not used "
        "(fargateCpu=512)",
        "deleting every launchlab stack in account 123456789012, us-east-1",
        f"not deleted: A (failed to delete: {in_use})",
        "not deleted: B (kept: A must be deleted first)",
    ]
    assert capsys.readouterr().err == ""


def test_a_deletion_aws_stops_still_ends_with_the_scan_and_exit_2(
    down_parts: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import ClientError

    down_parts["outcome"] = ClientError(
        {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"
    )
    down_parts["leftovers"] = 1
    out = io.StringIO()
    assert down.down(_Sandbox({}), {}, Console(file=out, width=400), delete_leftovers=True) == 2
    assert down_parts["asked"] == ["delete", "scan delete=True"]
    assert capsys.readouterr().err == (
        "launchlab: stack deletion stopped: AWS refused DescribeStacks in us-east-1: Throttling: "
        "Rate exceeded; looking for leftovers anyway\n"
    )
    assert out.getvalue() == "deleting every launchlab stack in account 123456789012, us-east-1\n"
    # Only the scan: no credentials asked, no deletion; its code is down's.
    down_parts["asked"].clear()
    assert down.down(_Sandbox({}), {}, Console(file=io.StringIO()), scan_only=True) == 1
    assert down_parts["asked"] == ["scan delete=False"]


# ---- the scan's looks that moto answers without what AWS adds -----------------------------------


def test_the_scan_asks_for_what_ecs_and_lambda_manage_too_and_prices_it() -> None:
    """Instances, their volumes and interfaces that a capacity provider launched are hidden from
    a plain Describe* (AWS: IncludeManagedResources); moto shows everything either way, so only
    the request tells whether the scan would find them on AWS."""
    from launchlab.aws.costs import hourly_prices

    prices = hourly_prices(REGION)
    ec2 = offline_client("ec2")
    asked = {"Filters": [down.TAG_FILTER], "IncludeManagedResources": True}
    managed = {"Managed": True, "Principal": "ecs.amazonaws.com"}
    instance = {
        "InstanceId": "i-0123456789abcdef0", "InstanceType": "t3.small",
        "State": {"Name": "running"}, "Operator": managed,
    }  # fmt: skip
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_instances", {"Reservations": [{"Instances": [instance]}]}, asked
        )
        volume = {
            "VolumeId": "vol-0123456789abcdef0",
            "Size": 30,
            "VolumeType": "gp3",
            "State": "in-use",
        }
        stub.add_response("describe_volumes", {"Volumes": [volume]}, asked)
        eni = {"NetworkInterfaceId": "eni-0123456789abcdef0", "Status": "in-use"}
        stub.add_response("describe_network_interfaces", {"NetworkInterfaces": [eni]}, asked)
        sandbox = _Sandbox({"ec2": ec2})
        [found] = down._instances(sandbox, prices)
        [disk] = down._volumes(sandbox, prices)
        [interface] = down._network_interfaces(sandbox, prices)
        stub.assert_no_pending_responses()
    assert (found.usd_per_hour, found.detail) == (
        prices.instance_per_hour("t3.small"),
        "t3.small, running, managed by ecs.amazonaws.com",
    )
    assert (disk.usd_per_hour, disk.detail) == (
        30 * prices.per_hour("ebs.gp3.gb_month"),
        "30 GiB gp3, in-use",
    )
    assert interface.identifier == "eni-0123456789abcdef0"


def test_elastic_ips_say_whether_they_are_attached_and_bill_either_way() -> None:
    from launchlab.aws.costs import hourly_prices

    prices = hourly_prices(REGION)
    ec2 = offline_client("ec2")
    addresses = [
        {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.1", "AssociationId": "eipassoc-1"},
        {"AllocationId": "eipalloc-2", "PublicIp": "198.51.100.2", "NetworkInterfaceId": "eni-2"},
        {"AllocationId": "eipalloc-3", "PublicIp": "198.51.100.3"},
        {"PublicIp": "198.51.100.4"},
    ]
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_addresses", {"Addresses": addresses}, {"Filters": [down.TAG_FILTER]}
        )
        found = list(down._elastic_ips(_Sandbox({"ec2": ec2}), prices))
    hourly = prices.per_hour("vpc.public_ipv4_hour")
    assert [(f.identifier, f.detail, f.public_ip, f.usd_per_hour) for f in found] == [
        ("eipalloc-1", "198.51.100.1, associated", "198.51.100.1", hourly),
        ("eipalloc-2", "198.51.100.2, associated", "198.51.100.2", hourly),
        ("eipalloc-3", "198.51.100.3, not associated", "198.51.100.3", hourly),
        ("198.51.100.4", "198.51.100.4, not associated", "198.51.100.4", hourly),
    ]


def test_a_log_group_ecs_made_is_priced_by_what_it_stores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto's log groups store nothing; AWS's bill per GB-month stored."""
    from launchlab.aws.costs import hourly_prices

    prices = hourly_prices(REGION)
    name = "/aws/ecs/LaunchlabExpressCluster1234/service"
    arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{name}:*"
    other = f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/ecs/someone-else:*"
    monkeypatch.setattr(down, "_ecs_managed_arns", lambda sandbox: {arn, other})
    logs = offline_client("logs")
    stored = 2 * 1024**3
    groups = [
        {"logGroupName": name, "arn": arn, "storedBytes": stored},
        {"logGroupName": f"{name}-blue", "arn": arn + "-blue", "storedBytes": stored},
    ]
    with Stubber(logs) as stub:
        stub.add_response(
            "describe_log_groups", {"logGroups": groups}, {"logGroupNamePrefix": name}
        )
        [found] = down._ecs_managed_log_groups(_Sandbox({"logs": logs}), prices)
        stub.assert_no_pending_responses()
    assert (found.identifier, found.detail, found.certain) == (
        arn,
        f"{name}: 2048.0 MiB stored",
        True,
    )
    assert found.usd_per_hour == 2 * prices.per_hour("logs.storage_gb_month")
