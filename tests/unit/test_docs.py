"""A newcomer follows the repository's own pointers: every document a docstring, comment or page cites is
in the repository (`docs/`), none points at the team's shared folder outside it, and the README's folder
table names every top-level folder."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()
TEXT_SUFFIXES = frozenset({".py", ".md", ".sql", ".sh", ".toml", ".cfg", ".ini", ".html", ".mako", ".css", ".txt",
                           ".yml", ".yaml"})

# Documents that live outside the repository: the shared folder (``../shared/...``), or its files by name.
OUTSIDE_DOCUMENT = re.compile(
    r"(?<![\w-])shared/[\w./-]+"            # shared/DESIGN.md, ../shared/feeds/README.md, shared/seeds/...
    r"|(?<![\w/.-])feeds/README\.md"         # the feed spec by its old path, without the shared/ prefix
    r"|(?<![\w/.-])(?:DESIGN|STACK-NOTES|STYLE)\.md"
)
DOCS_REFERENCE = re.compile(r"(?<![\w/.-])docs/[\w./-]*\.md")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")
FOLDER_ROW = re.compile(r"^\| `([^`/]+)/` \|")


def ignored_patterns() -> list[str]:
    """The repository's own idea of what is not part of it: ``.gitignore``'s patterns, and ``.git``."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [".git", *(line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#"))]


def is_ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def repository_text_files() -> Iterator[Path]:
    """Every text file of the repository (product code, tests, tools, benchmarks, docs, scripts)."""
    patterns = ignored_patterns()

    def walk(folder: Path) -> Iterator[Path]:
        for entry in sorted(folder.iterdir()):
            if is_ignored(entry.name, patterns) or entry.is_symlink():
                continue
            if entry.is_dir():
                yield from walk(entry)
            elif entry.suffix in TEXT_SUFFIXES and entry.resolve() != THIS_FILE:
                yield entry

    yield from walk(ROOT)


def top_level_folders() -> set[str]:
    patterns = ignored_patterns()
    return {entry.name for entry in ROOT.iterdir()
            if entry.is_dir() and not entry.is_symlink() and not is_ignored(entry.name, patterns)}


def references(pattern: re.Pattern[str]) -> list[tuple[str, int, str]]:
    """(file relative to the root, line number, matched text) for every match in the repository's text."""
    found = []
    for path in repository_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            found.extend((str(path.relative_to(ROOT)), number, m.group(0)) for m in pattern.finditer(line))
    return found


def readme_folder_table() -> set[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| folder | what lives there |")
    table = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return {m.group(1) for m in map(FOLDER_ROW.match, table) if m}


def test_no_file_cites_a_document_outside_the_repository() -> None:
    outside = references(OUTSIDE_DOCUMENT)
    assert not outside, "cite docs/ instead: " + "; ".join(f"{f}:{n} {text}" for f, n, text in outside)


def test_every_document_cited_in_docs_exists() -> None:
    cited = references(DOCS_REFERENCE)
    assert any(text == "docs/feeds.md" for _, _, text in cited)  # the scan sees the docstrings it guards
    missing = [(f, n, text) for f, n, text in cited if not (ROOT / text).is_file()]
    assert not missing, "no such document: " + "; ".join(f"{f}:{n} {text}" for f, n, text in missing)


def test_links_between_the_documents_resolve() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [f"{doc.relative_to(ROOT)} -> {link}" for doc in documents
              for link in MARKDOWN_LINK.findall(doc.read_text(encoding="utf-8"))
              if "://" not in link and not (doc.parent / link).is_file()]
    assert not broken, f"broken links: {broken}"


def test_the_readme_folder_table_names_every_top_level_folder() -> None:
    folders, table = top_level_folders(), readme_folder_table()
    assert {"connectors", "directory_api", "docs"} <= folders  # the walk sees the repository itself
    assert not folders - table, f"folders missing from the README's folder table: {sorted(folders - table)}"
    assert not table - folders, f"the README's folder table names folders that do not exist: {sorted(table - folders)}"


@pytest.mark.parametrize("line", [
    "Senders upload (``shared/feeds/README.md``)",
    "validate every row against the feed specification (`../shared/feeds/README.md`)",
    "Lessons written into the design (shared/DESIGN.md):",
    "(characters 2-4, feeds/README.md)",
    "serialized (see STACK-NOTES.md).",
])
def test_a_citation_of_the_shared_folder_is_recognised(line: str) -> None:
    assert OUTSIDE_DOCUMENT.search(line)


@pytest.mark.parametrize("line", [
    "Senders upload (``docs/feeds.md``)",
    "the feed registry (`connectors/feeds.py`)",
    "a folder shared by two drop zones",
    "/usr/share/java/postgresql.jar",
])
def test_the_repository_own_documents_are_not_mistaken_for_the_shared_folder(line: str) -> None:
    assert not OUTSIDE_DOCUMENT.search(line)
