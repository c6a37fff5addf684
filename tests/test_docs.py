"""The user documentation speaks of using gandyn, not of how it was developed.

The docs' ``>>>`` examples run as doctests (``--doctest-glob='*.md'``) and the Sphinx
site is built with warnings as errors by ``.ci/run``; this checks the words.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT = re.compile(r"session [0-9]|/work/|/tmp/|issue [0-9]", re.IGNORECASE)


def _files():
    yield ROOT / "README.md"
    yield ROOT / "CHANGELOG.md"
    for folder, patterns in (("docs", ("*.md", "*.py")), ("gandyn", ("*.py",)), ("benchmarks", ("*.py", "*.md"))):
        for pattern in patterns:
            for path in sorted((ROOT / folder).rglob(pattern)):
                if "_build" not in path.parts:
                    yield path


def test_docs_and_code_do_not_speak_of_development():
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for path in _files() if path.exists()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if DEVELOPMENT.search(line)]
    assert not hits, "\n".join(hits)


def test_every_docs_page_is_in_the_site():
    """Each Markdown page of docs/ is reachable from a toctree (Sphinx warns otherwise)."""
    docs = ROOT / "docs"
    text = "\n".join(p.read_text(encoding="utf-8") for p in docs.rglob("*.md") if "_build" not in p.parts)
    entries = set(re.findall(r"^([\w/-]+)$", "\n".join(
        block for block in re.findall(r"```\{toctree\}\n(.*?)```", text, re.S)), re.M))
    pages = {p.relative_to(docs).with_suffix("").as_posix() for p in docs.rglob("*.md")
             if "_build" not in p.parts and p.name != "index.md"}
    in_api = {p for p in pages if p.startswith("api/")}
    missing = {p for p in pages - in_api if p not in entries}
    missing |= {p for p in in_api if p.split("/", 1)[1] not in entries}
    assert not missing, sorted(missing)


def test_every_code_block_of_the_docs_is_closed():
    # an unclosed ``` turns the rest of a page into code: its headings vanish from the site
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        fences = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, f"{path.name}: a code block opened at line {fences[-1]} is not closed"
