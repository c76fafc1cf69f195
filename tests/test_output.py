"""The toolkit's output where no terminal says how wide a line may be (a CI log, a pipe, a
file): every line whole and no word or table cell folded in two. tests/test_demo.py checks the
demo's output likewise, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from launchlab.cli import main
from tests.conftest import Synthesized

# Table frames and rules, and the punctuation a word may end in where a table cell or a
# sentence breaks.
NOT_WORDS = re.compile(r"[\s│┃┏┓┗┛┡┩┠┨━─┳┻╇╈┼├┤┬┴┌┐└┘]+")


def _words(text: str) -> set[str]:
    return {word.strip(",;:.()") for word in NOT_WORDS.split(text)} - {""}


def _report(
    synth: Synthesized, out: Path, capsys: pytest.CaptureFixture[str], columns: str | None
) -> str:
    with pytest.MonkeyPatch.context() as patch:
        if columns is None:
            patch.delenv("COLUMNS", raising=False)
        else:
            patch.setenv("COLUMNS", columns)
        capsys.readouterr()
        assert main(["report", "--cdk-out", str(synth.outdir), "--details", "--out", str(out)]) == 0
        return capsys.readouterr().out


@pytest.mark.slow
def test_report_in_a_log_folds_no_word(
    opt_in_synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The three opt-in launch types' --details: the widest tables the report prints (the ops
    table has a column per launch type). Every word in the log's output is a word of the same
    report printed on a terminal wide enough for anything: a word folded in two is not."""
    log = _report(opt_in_synth, tmp_path, capsys, columns=None)
    wide = _report(opt_in_synth, tmp_path, capsys, columns="100000")
    assert _words(log) - _words(wide) == set()
    assert "Operational burden" in log and "lambda-managed-instances" in log
    # Sentences on one line each: the verdict's, each flip's, and every bullet unpadded.
    verdict = json.loads((tmp_path / "report.json").read_text())["verdict"]
    lines = log.splitlines()
    for sentence in [verdict["summary"], *(flip["summary"] for flip in verdict["flips"])]:
        assert any(line.removeprefix("- ") == sentence for line in lines), sentence
    assert all(not line.endswith(" ") for line in lines if line.startswith(("- ", "At ")))
