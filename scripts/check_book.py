"""Checks the README and the book (docs/src/) as a reader follows them: every page is in
SUMMARY.md, every relative link leads to a file of the repository, and every #anchor to a
heading of its page (mdBook's and GitHub's ids: lowercase, punctuation dropped, spaces as
hyphens). Links to other sites are not followed (CI has no network); they are listed.

    python scripts/check_book.py
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "docs/src"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text):
    """The text outside fenced code blocks."""
    out, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            out.append(re.sub(r"`[^`]*`", "", line))
    return out


def anchors(path):
    ids = set()
    for line in prose(path.read_text()):
        match = re.match(r"^#{1,6} (.*)", line)
        if match:
            title = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            ids.add(title.replace(" ", "-"))
    # Headings with code spans in them: read them whole.
    for line in path.read_text().splitlines():
        match = re.match(r"^#{1,6} (.*)", line)
        if match:
            title = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            ids.add(title.replace(" ", "-"))
    return ids


def main():
    problems, external = [], 0
    summary = (BOOK / "SUMMARY.md").read_text()
    listed = set(re.findall(r"\(([^)]+\.md)\)", summary))
    for page in sorted(BOOK.glob("*.md")):
        if page.name != "SUMMARY.md" and page.name not in listed:
            problems.append(f"docs/src/{page.name}: not in SUMMARY.md")
    for page in [ROOT / "README.md", *sorted(BOOK.glob("*.md"))]:
        for line in prose(page.read_text()):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    external += 1
                    continue
                file, _, anchor = target.partition("#")
                resolved = (page.parent / file).resolve() if file else page
                where = f"{page.relative_to(ROOT)}: {target}"
                if not resolved.exists():
                    problems.append(f"{where}: no such file")
                elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                    problems.append(f"{where}: no heading #{anchor}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"book: every page listed, every relative link leads somewhere ({external} links to other sites not followed)")


if __name__ == "__main__":
    main()
