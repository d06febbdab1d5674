"""Every code block of the README that claims to run is run here, so the README cannot drift from the code.

A fenced block with a language is code; its first line says what happens to it:

- ``# illustrative: <why>``: not run (it needs AWS, or a host of your own);
- ``# runs in CI: <why>``: the commands CI itself runs (``.ci/run``; they install system packages), not run
  here; the scripts and modules they name must exist;
- ``# runs on the sandbox ...`` (``sh``): run with ``bash -eu`` from the repository's root, as root, with
  ``VMEC2_SANDBOX_DIR`` in a temporary directory (skipped where a sandbox cannot run);
- any other ``python`` block: run as a script with this interpreter from the repository's root;
- a ``text`` block whose first line starts with ``# output`` is the output (stdout) of the python or sandbox
  block before it, line by line, where ``…`` stands for any run of characters.

Blocks without a language (diagrams) are not code. The shell commands run with this interpreter's
environment first on PATH (as ``.venv/bin`` would be), so ``python3`` and ``vmec2-sandbox`` are this
checkout's.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

ILLUSTRATIVE = "# illustrative:"
CI = "# runs in CI:"
SANDBOX = "# runs on the sandbox"
OUTPUT = "# output"
RUNNABLE_LANGUAGES = {"python", "sh"}


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, its text and the README line it starts on."""

    language: str
    text: str
    line: int

    @property
    def marker(self) -> str:
        """The block's first line."""
        return self.text.splitlines()[0] if self.text else ""

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.language}"


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, in order."""
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(Block(match.group(1), match.group(2), line))
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
CODE = [b for b in BLOCKS if b.language]


def expected_output(block: Block) -> str | None:
    """The ``# output`` block right after ``block``, without its marker line, if there is one."""
    following = BLOCKS[BLOCKS.index(block) + 1 :]
    if following and following[0].language == "text" and following[0].marker.startswith(OUTPUT):
        return following[0].text.split("\n", 1)[1]
    return None


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` has the lines of ``expected``, ``…`` standing for any run of characters."""
    want, got = expected.splitlines(), actual.splitlines()
    return len(want) == len(got) and all(
        re.fullmatch(".+?".join(re.escape(part) for part in w.split("…")), g)
        for w, g in zip(want, got, strict=True)
    )


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A directory to put first on PATH: ``python3``/``python`` and the console scripts of this checkout."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name in ("python3", "python"):
        (bin_ / name).symlink_to(sys.executable)
    commands = {
        "vmec2-sandbox": "staging.sandbox",
        "sync_to_snapshot": "scripts.sync_to_snapshot",
        "sync_from_snapshot": "scripts.sync_from_snapshot",
        "staging": "scripts.gc",
        "migrate-ebs-image": "scripts.migrate_ebs_image",
        "spot_launch": "scripts.spot_launch",
    }
    for name, module in commands.items():
        script = bin_ / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m {module} "$@"\n')
        script.chmod(0o755)
    return bin_


#: Where boto3 goes when a block names no endpoint: a refused loopback port, never AWS (the blocks run in
#: subprocesses, outside conftest's network guard). A sandbox block's ``vmec2-sandbox up`` replaces it.
NOWHERE = "http://127.0.0.1:9"


def run_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment (fake credentials) with the checkout first and boto3 kept on loopback."""
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": NOWHERE,
        **extra,
    }


def test_the_readme_has_code_blocks_of_every_kind() -> None:
    """The parser finds the README's blocks: some run here, some in CI, some are illustrative."""
    markers = {b.marker.split(":")[0] for b in CODE}
    assert {ILLUSTRATIVE.rstrip(":"), CI.rstrip(":")} <= markers
    assert any(b.language == "python" and not b.marker.startswith(ILLUSTRATIVE) for b in CODE)
    assert any(b.marker.startswith(SANDBOX) for b in CODE)


@pytest.mark.parametrize("block", CODE, ids=lambda b: b.id)
def test_every_code_block_says_how_it_runs(block: Block) -> None:
    """A shell block is marked (illustrative, CI or sandbox); an output block follows a block that runs."""
    if block.language == "text":
        assert block.marker.startswith(OUTPUT), f"{block.id}: a text block with a language is an output block"
        before = BLOCKS[BLOCKS.index(block) - 1]
        assert before.language == "python" or before.marker.startswith(SANDBOX)
        assert not before.marker.startswith(ILLUSTRATIVE)
        return
    assert block.language in RUNNABLE_LANGUAGES, f"{block.id}: unknown language {block.language!r}"
    if block.marker.startswith(ILLUSTRATIVE):
        assert block.marker.removeprefix(ILLUSTRATIVE).strip(), f"{block.id}: say why it is illustrative"
    elif block.language == "sh":
        assert block.marker.startswith((CI, SANDBOX)), f"{block.id}: mark the shell block (see this test)"


@pytest.mark.parametrize(
    "block",
    [b for b in CODE if b.language == "python" and not b.marker.startswith(ILLUSTRATIVE)],
    ids=lambda b: b.id,
)
def test_python_block_runs(block: Block, bin_dir: Path) -> None:
    """The block runs as a script from the repository's root, and prints what the README says it prints."""
    result = subprocess.run(
        [sys.executable, "-"],
        input=block.text,
        cwd=ROOT,
        env=run_env(bin_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{block.id} failed:\n{result.stderr}"
    expected = expected_output(block)
    if expected is not None:
        assert matches(expected, result.stdout), (
            f"{block.id} printed:\n{result.stdout}\nexpected:\n{expected}"
        )


@pytest.mark.parametrize("block", [b for b in CODE if b.marker.startswith(CI)], ids=lambda b: b.id)
def test_ci_block_names_what_exists(block: Block) -> None:
    """The scripts (``bash X``) and modules (``-m M``) the CI commands name exist in the repository."""
    commands = [ln for ln in block.text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands
    for command in commands:
        words = shlex.split(command)
        for word, following in itertools.pairwise(words):
            if word == "bash":
                assert (ROOT / following).is_file(), f"{block.id}: no {following}"
            if word == "-m":
                assert importlib.util.find_spec(following) is not None, f"{block.id}: no module {following}"


def test_two_commands_section_is_two_commands() -> None:
    """The "Two commands" section holds one block of exactly two command lines (fresh-debian.sh runs them)."""
    section = README.read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    (block,) = readme_blocks(section)
    commands = [ln for ln in block.text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(commands) == 2, commands


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in CODE if b.marker.startswith(SANDBOX)], ids=lambda b: b.id)
def test_sandbox_block_runs(block: Block, bin_dir: Path, tmp_path: Path) -> None:
    """The block runs as written against a sandbox of its own, which is removed even when it fails."""
    from staging.sandbox import EnvironmentProblem, check_environment

    try:
        check_environment()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))
    state_dir = tmp_path / "cloud"
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=ROOT,
            env=run_env(bin_dir, VMEC2_SANDBOX_DIR=str(state_dir)),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{block.id} failed:\n{result.stdout}\n{result.stderr}"
        expected = expected_output(block)
        if expected is not None:
            assert matches(expected, result.stdout), (
                f"{block.id} printed:\n{result.stdout}\nexpected:\n{expected}"
            )
        else:
            assert (
                "debian-12-amd64-sandbox" in result.stdout
            )  # the block's describe_images reached the sandbox
        assert not state_dir.exists(), "the block's `down` left the sandbox's directory"
    finally:
        subprocess.run(
            [sys.executable, "-m", "staging.sandbox", "down", "--force", "--state-dir", str(state_dir)],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )


def test_output_blocks_match_line_by_line_with_ellipses() -> None:
    """``…`` stands for a run of characters within a line; all else, line count included, must agree."""
    assert matches("ami-… base\nsnap-…", "ami-0abc base\nsnap-1")
    assert not matches("ami-… base", "ami-0abc other")
    assert not matches("one\ntwo", "one")
