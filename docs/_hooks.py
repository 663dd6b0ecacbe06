"""mkdocs hook: generate the feature matrix from the installed providers' code at build time.

A page containing the marker `<!-- feature-matrix -->` gets a table of every installed
provider's capabilities, so the documented matrix cannot drift from what the code does.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- feature-matrix -->"


def feature_matrix() -> str:
    """A Markdown table: one row per capability, one column per installed provider."""
    import invoicekit

    providers = invoicekit.available_providers()
    header = "| capability | " + " | ".join(f"`{p.name}`" for p in providers) + " |"
    rule = "|---|" + "---|" * len(providers)
    rows = [header, rule]
    for cap in invoicekit.Capability:
        cells = ["yes" if cap in p.capabilities else "—" for p in providers]
        rows.append(f"| `{cap.name}` | " + " | ".join(cells) + " |")
    versions = ", ".join(f"`{p.name}` {p.version} ({p.distribution})" for p in providers)
    return "\n".join(rows) + f"\n\nGenerated at build time from: {versions}.\n"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker with the generated table."""
    if MARKER in markdown:
        return markdown.replace(MARKER, feature_matrix())
    return markdown
