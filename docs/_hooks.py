"""mkdocs hook: the feature matrix, generated from the installed providers' code.

`docs/features.md` holds the table between `<!-- feature-matrix -->` and
`<!-- /feature-matrix -->`, committed so that it reads right in the repository too. The
build replaces it with a freshly generated one, and `tests/test_docs_reference.py` fails
when the committed table differs from what the code says. After changing a provider's
capabilities, `python docs/_hooks.py` rewrites the committed table.

This file is excluded from the built site (`exclude_docs` in `mkdocs.yml`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

START = "<!-- feature-matrix -->"
END = "<!-- /feature-matrix -->"
_BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
PAGE = Path(__file__).with_name("features.md")


def feature_matrix() -> str:
    """A Markdown table: one row per capability (named by its `Capability` value, as the
    CLI and errors name it), one column per provider installed from a distribution."""
    import invoicekit

    providers = [p for p in invoicekit.available_providers() if p.distribution != "(in process)"]
    header = "| capability | " + " | ".join(f"`{p.name}`" for p in providers) + " |"
    rule = "|---|" + "---|" * len(providers)
    rows = [header, rule]
    for cap in invoicekit.Capability:
        cells = ["yes" if cap in p.capabilities else "—" for p in providers]
        rows.append(f"| `{cap.value}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render(markdown: str) -> str:
    """*markdown* with the table between the markers replaced by a generated one."""
    return _BLOCK.sub(lambda _: f"{START}\n{feature_matrix()}\n{END}", markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Regenerate the table of a page that has the markers."""
    return render(markdown) if START in markdown else markdown


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
