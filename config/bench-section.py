#!/usr/bin/env python3
"""Put one benchmark script's section into docs/benchmarks.md (or another file).

    bench-section.py DOC NAME SECTION_FILE [BEFORE]

SECTION_FILE holds the section between `<!-- NAME:begin ... -->` and `<!-- NAME:end -->`
markers. It replaces the section with those markers in DOC; when DOC has none, it goes before
the section whose begin marker is `<!-- BEFORE:begin` (if given and present), else at the end.
The rest of DOC is left as it is (each bench script owns its section). A missing DOC starts
as "# Benchmarks".
"""
import re
import sys


def main() -> None:
    doc, name, section_file = sys.argv[1:4]
    before = sys.argv[4] if len(sys.argv) > 4 else None
    section = open(section_file).read().rstrip("\n") + "\n"
    try:
        text = open(doc).read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    pat = re.compile(
        r"<!-- " + re.escape(name) + r":begin.*?<!-- " + re.escape(name) + r":end -->\n?", re.S
    )
    if pat.search(text):
        text = pat.sub(lambda _: section, text, count=1)
    elif before and f"<!-- {before}:begin" in text:
        i = text.index(f"<!-- {before}:begin")
        text = text[:i] + section + "\n" + text[i:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + section
    with open(doc, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
