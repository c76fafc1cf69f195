"""The config's availability and Spot keys (stacks/config.py): what multi-az raises, the
maximum that must allow it, named by its key, and the Spot share that Fargate on Spot refuses;
each read from cdk.json's defaults with one or two keys set, as `-c key=value` sets them."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, LaunchlabConfig
from tests.conftest import cdk_context


def config(**overrides: Any) -> LaunchlabConfig:
    return LaunchlabConfig.from_context(cdk_context(**overrides).get)


def test_multi_az_keeps_two_of_each_minimum_and_sandbox_what_is_set() -> None:
    sandbox = config(ec2MinInstances=1, lmiMinEnvironments=1)
    assert sandbox.ecs_ec2.min_instances == 1 and not sandbox.ecs_ec2.spread_zones
    assert sandbox.opt_in.lambda_managed_instances.min_environments == 1
    multi = config(availability="multi-az", ec2MinInstances=1, lmiMinEnvironments=1)
    assert multi.ecs_ec2.min_instances == 2 and multi.ecs_ec2.spread_zones
    assert multi.opt_in.lambda_managed_instances.min_environments == 2
    # A minimum above two stays.
    assert (
        config(
            availability="multi-az", lmiMinEnvironments=3
        ).opt_in.lambda_managed_instances.min_environments
        == 3
    )


@pytest.mark.parametrize("key", ["ec2MaxInstances", "lmiMaxEnvironments", "fargateMaxTasks"])
def test_a_maximum_below_two_is_refused_in_multi_az_by_its_key(key: str) -> None:
    low = {key: 1, key.replace("Max", "Min"): 1}
    config(**low)  # sandbox: fine
    with pytest.raises(ConfigError) as error:
        config(availability="multi-az", **low)
    assert str(error.value) == (
        f"config key '{key}' has value 1; allowed: at least 2 with availability=multi-az"
    )


def test_fargate_on_spot_takes_no_spot_share_and_a_mix_keeps_its_share() -> None:
    with pytest.raises(ConfigError) as error:
        config(fargateSpot=True, fargateSpotShare=50)
    assert str(error.value) == (
        "config key 'fargateSpotShare' has value 50; allowed: 0 with fargateSpot=true (every "
        "task on Spot); set fargateSpot=false for a mix"
    )
    assert config(fargateSpotShare=50).fargate.spot_share == 50
    assert config(fargateSpot=True).fargate.spot_share == 0
