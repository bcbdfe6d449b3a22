"""The README opens with the two commands, and CI runs exactly the test one."""

from __future__ import annotations

import re

from tests.support.processes import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README must open with a sh code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    run, test = readme_commands()
    assert run.startswith("python3.11 -m venv .venv") and run.endswith("honcho start")
    assert test.startswith("python3.11 -m venv .venv") and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_procfile_runs_every_service() -> None:
    lines = (REPO / "Procfile").read_text().splitlines()
    names = {line.split(":", 1)[0] for line in lines if line.strip()}
    assert names == {"sim", "feed", "router", "dropcopy", "eventlog"}
