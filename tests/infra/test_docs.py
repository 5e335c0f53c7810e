"""The project's documents live in the repository, and their links stay in it.

Every relative Markdown link of every tracked (or new, not ignored) ``*.md`` file resolves to a
file or folder inside the repository, and a ``#fragment`` to a heading of its target; a link
that climbs out of the repository (``../shared/DESIGN.md``, absent from a clone) or names a
missing file fails, naming the file and line. Links with a scheme (``https:``) are the web's.
The contract is ``docs/contract.md``, and the README links it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files() -> list[Path]:
    """Every Markdown file git tracks, or would track (new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.md"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return sorted({ROOT / name for name in listed if (ROOT / name).exists()})


def links(text: str) -> list[tuple[int, str]]:
    """Each link target of a Markdown text with its line, code blocks and code spans left out."""
    blanked = _FENCE.sub(lambda block: "\n" * block[0].count("\n"), text)
    # A code span is text, not a link; keep its length and line breaks so positions stay true.
    blanked = _CODE_SPAN.sub(lambda span: re.sub(r"[^\n]", "x", span[0]), blanked)
    found = [(match.start(1), match[1]) for match in _INLINE_LINK.finditer(blanked)]
    found += [(match.start(1), match[1]) for match in _REFERENCE.finditer(blanked)]
    return sorted((blanked.count("\n", 0, start) + 1, target) for start, target in found)


def anchors(markdown: str) -> set[str]:
    """The heading anchors GitHub gives a page: lower case, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", markdown), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(path: Path, text: str) -> list[str]:
    """Each relative link of ``text`` (the file ``path``) that leaves the repository or finds nothing."""
    broken = []
    for line, target in links(text):
        if _SCHEME.match(target):
            continue
        where = f"{path.relative_to(ROOT)}:{line}: {target}"
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part.split("?")[0]).resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{where}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{where}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text()):
            broken.append(f"{where}: no heading #{fragment} there")
    return broken


def test_every_relative_link_of_every_markdown_file_stays_in_the_repository_and_finds_its_target() -> None:
    files = markdown_files()

    assert {ROOT / "README.md", ROOT / "docs" / "contract.md"} <= set(files)
    assert [problem for path in files for problem in broken_links(path, path.read_text())] == []


def test_a_link_out_of_the_repository_or_to_nothing_is_broken() -> None:
    readme = ROOT / "README.md"
    text = "\n".join(
        [
            "The contract is [`../shared/DESIGN.md`](../shared/DESIGN.md); see",
            "[the missing](docs/nothing.md), [the far](../../etc/passwd), [a bad anchor](#no-such-heading),",
            "[the contract's parts](docs/contract.md#4-parts-and-where-they-live), [the web](https://pyodide.org),",
            "`[in code](../shared/x.md)`, and [ref]: docs/gone.md",
            "",
            "[ref]: ../shared/STYLE.md",
            "```md",
            "[in a block](../shared/DESIGN.md)",
            "```",
        ]
    )

    assert broken_links(readme, text) == [
        "README.md:1: ../shared/DESIGN.md: outside the repository",
        "README.md:2: #no-such-heading: no heading #no-such-heading there",
        "README.md:2: ../../etc/passwd: outside the repository",
        "README.md:2: docs/nothing.md: no such file",
        "README.md:6: ../shared/STYLE.md: outside the repository",
    ]


def test_the_readme_links_the_contract_and_no_file_names_the_folder_outside() -> None:
    readme = (ROOT / "README.md").read_text()
    opening = readme.split("\n## ", 1)[0]

    assert "(docs/contract.md)" in opening
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()  # noqa: S607
    texts = {name: (ROOT / name).read_bytes() for name in tracked if (ROOT / name).is_file()}
    naming = [name for name, text in texts.items() if b"../shared" in text and name != "tests/infra/test_docs.py"]
    assert len(texts) > 100
    assert naming == []
