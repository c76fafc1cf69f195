"""Instance-type facts (stacks/instance_types.yaml) are kept once, beside the infrastructure that
reads them, and joined with the toolkit's prices (launchlab/prices/aws.yaml, prices only); the
infrastructure never reads the toolkit's files."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchlab.cli import main
from launchlab.errors import LaunchlabError
from launchlab.report.prices import DEFAULT_TABLE, FACT_KEYS, load_table
from stacks import instance_types
from stacks.instance_types import FACTS_FILE, InstanceFactsError
from tests.conftest import ROOT

FACTS = instance_types.load()
# The pages the facts were checked against (see the file's header).
USER_GUIDE = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/"


def _price_table() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(DEFAULT_TABLE.read_text())
    return raw


# --- the shipped tables ---------------------------------------------------------------------


def test_every_priced_type_has_facts_and_every_fact_is_priced_somewhere() -> None:
    regions = _price_table()["regions"]
    priced = {name for region in regions.values() for name in region["ec2_instances"]}
    assert priced == set(FACTS)
    for region, data in regions.items():
        for name, entry in data["ec2_instances"].items():
            assert not FACT_KEYS & set(entry), f"{region} {name} repeats a fact beside its price"


def test_each_fact_is_sourced_and_dated_and_burstable_types_carry_their_baseline() -> None:
    for name, facts in FACTS.items():
        assert facts.source.startswith("https://docs.aws.amazon.com/"), name
        assert len(facts.date) == 10 and facts.date.startswith("20"), name
        family = name.partition(".")[0]
        # Graviton families end in g (t4g, m7g, c7g): arm64; the rest here are x86_64.
        assert facts.architecture == ("arm64" if family.endswith("g") else "x86_64"), name
        burstable = family in ("t3", "t3a", "t4g")
        assert (facts.baseline_per_vcpu is not None) == burstable, name
    raw = yaml.safe_load(FACTS_FILE.read_text())["instance_types"]
    assert (
        raw["t3.small"]["baseline_source"]
        == USER_GUIDE + "burstable-credits-baseline-concepts.html"
    )


def test_the_report_joins_prices_with_facts() -> None:
    east = load_table().region("us-east-1")
    t3 = east.instance("t3.micro")
    assert (t3.vcpu, t3.memory_gib, t3.architecture) == (2, 1, "x86_64")
    assert t3.hourly.usd == Decimal("0.0104")
    assert t3.baseline_per_vcpu is not None and f"{t3.baseline_per_vcpu:.0%}" == "10%"
    graviton = east.instance("m7g.large")
    assert (graviton.vcpu, graviton.memory_gib, graviton.architecture) == (2, 8, "arm64")
    assert graviton.baseline_per_vcpu is None


# --- one clear error when the two disagree ---------------------------------------------------


def _table_with(tmp_path: Path, change: Any) -> Path:
    raw = _price_table()
    change(raw["regions"]["eu-west-1"]["ec2_instances"])
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_priced_type_the_facts_lack_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _table_with(
        tmp_path, lambda types: types.update({"x9.large": {**types["t3.small"], "usd": "1"}})
    )
    with pytest.raises(LaunchlabError) as error:
        load_table(path)
    message = str(error.value)
    assert message.startswith(f"{path} prices EC2 instance type 'x9.large' (eu-west-1)")
    assert "stacks/instance_types.yaml does not list it" in message
    # Through the CLI: exit 2 and that one line, before any synth.
    code = main(["report", "--prices", str(path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err == f"launchlab: {message}\n"


def test_a_price_entry_that_repeats_a_fact_is_refused(tmp_path: Path) -> None:
    path = _table_with(tmp_path, lambda types: types["t3.small"].update({"vcpu": 4}))
    with pytest.raises(LaunchlabError, match=r"ec2_instances t3\.small \(eu-west-1\) carries vcpu"):
        load_table(path)


def test_a_fact_no_region_prices_is_named_with_the_price_table_file(tmp_path: Path) -> None:
    """m7i.large has facts; a table without its eu-west-1 price names itself when asked."""
    raw: dict[str, Any] = yaml.safe_load(DEFAULT_TABLE.read_text())
    del raw["regions"]["eu-west-1"]["ec2_instances"]["m7i.large"]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw))
    eu = load_table(path).region("eu-west-1")
    assert "m7i.large" in FACTS
    with pytest.raises(LaunchlabError, match=r"'m7i\.large' in eu-west-1.*--refresh-prices"):
        eu.instance("m7i.large")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda e: e.pop("source"), "'t3.small' lacks source"),
        (lambda e: e.pop("vcpu"), "'t3.small' lacks vcpu"),
        (lambda e: e.update(vcpu=0), "'t3.small' has vcpu 0"),
        (lambda e: e.update(memory_gib="lots"), "'t3.small' has memory_gib 'lots'"),
        (lambda e: e.update(architecture="arm"), "'t3.small' has architecture 'arm'"),
        (lambda e: e.update(baseline_per_vcpu=2), "'t3.small' needs baseline_per_vcpu of at most"),
        (lambda e: e.pop("baseline_source"), "'t3.small' needs baseline_per_vcpu of at most"),
        (lambda e: e.update(network_interfaces=-1), "'t3.small' has network_interfaces -1"),
        (lambda e: e.pop("network_source"), "'t3.small' needs network_source"),
    ],
)
def test_a_malformed_fact_names_the_file_and_the_type(
    tmp_path: Path, change: Any, problem: str
) -> None:
    raw = yaml.safe_load(FACTS_FILE.read_text())
    change(raw["instance_types"]["t3.small"])
    path = tmp_path / "facts.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InstanceFactsError) as error:
        instance_types.load(path)
    assert str(error.value).startswith(f"{path}: instance type {problem}")


# --- the infrastructure does not read the toolkit ---------------------------------------------


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def toolkit_references(source: str) -> list[str]:
    """Where Python source imports the toolkit or builds a path into it (docstrings and comments
    may name it; the registry's rules_module strings are module names the toolkit imports)."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "launchlab"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "launchlab":
            found.append(f"from {node.module}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value == "launchlab":
                    found.append(f"line {node.lineno}: / 'launchlab'")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and "launchlab/" in node.value
        ):
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_no_module_under_stacks_imports_the_toolkit_or_names_a_path_into_it() -> None:
    modules = sorted((ROOT / "stacks").rglob("*.py"))
    assert len(modules) > 20
    found = {
        str(path.relative_to(ROOT)): refs
        for path in modules
        if (refs := toolkit_references(path.read_text()))
    }
    assert found == {}
    # The check sees what it is for: the way config.py used to reach the price table.
    assert toolkit_references(
        'from pathlib import Path\nP = Path(__file__).parent / "launchlab" / "prices"\n'
    ) == ["line 2: / 'launchlab'"]
    assert toolkit_references("from launchlab.report import prices\n") == ["from launchlab.report"]


_PROBE = """
import json, os, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)):
        opened.append(os.path.realpath(args[0]))
sys.addaudithook(hook)
from stacks.config import LaunchlabConfig, instance_size
context = json.load(open("cdk.json"))["context"]
LaunchlabConfig.from_context({**context, "ec2TaskMemory": 1024}.get)
instance_size("m7g.large")
toolkit = sorted(m for m in sys.modules if m.split(".")[0] == "launchlab")
print(json.dumps({"opened": opened, "modules": toolkit}))
"""


def test_building_the_config_opens_no_file_of_the_toolkit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["modules"] == []
    toolkit = str((ROOT / "launchlab").resolve())
    assert [path for path in seen["opened"] if path.startswith(toolkit + "/")] == []
    # The probe sees the files the config does read: the facts among them.
    assert str(FACTS_FILE.resolve()) in seen["opened"]
