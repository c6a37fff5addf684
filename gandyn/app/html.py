"""A small, dependency-free HTML writer for result pages (``gandyn reproduce``).

Everything here returns strings; nothing touches the disk except :func:`table_file`.
Figures are referenced by relative paths, so a page and its folder can be moved or
served together. No scripts, no external stylesheets, no lazily loaded images: the
page shows the same thing in any browser, online or not.
"""
from __future__ import annotations

import contextlib
import csv
import html
import json
import math
from pathlib import Path

__all__ = ["esc", "fmt", "table", "kv_table", "table_file", "figure", "badge", "document"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b;
       max-width: 1180px; margin: 0 auto; padding: 1.2em 1.6em 3em; line-height: 1.45; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.35em; margin-top: 2.2em; padding-top: 0.6em; border-top: 2px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
p.lead { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.86em; }
th, td { border: 1px solid #d6d6d6; padding: 0.22em 0.55em; text-align: left; vertical-align: top;
         white-space: nowrap; }
td.wrap { white-space: normal; min-width: 16em; max-width: 40em; }
th { background: #f2f4f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
.scroll { overflow-x: auto; max-width: 100%; }
.badge { display: inline-block; padding: 0.05em 0.55em; border-radius: 0.8em; font-size: 0.85em;
         font-weight: 600; white-space: nowrap; }
.pass { background: #d9f2dd; color: #17612a; }
.fail { background: #fadadb; color: #8f1a1f; }
.skip { background: #fdf1cf; color: #6e5300; }
.info { background: #e6ecf5; color: #2c4a78; }
figure { margin: 1em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
figcaption { font-size: 0.88em; color: #444; margin-top: 0.3em; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.86em; }
pre { background: #f6f8fa; padding: 0.6em 0.8em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
details { margin: 0.5em 0 1em; }
summary { cursor: pointer; color: #2c4a78; }
.note { background: #fff8e1; border-left: 4px solid #e0b300; padding: 0.5em 0.9em; }
.error { background: #fdecec; border-left: 4px solid #c62828; padding: 0.5em 0.9em; }
"""


def esc(x) -> str:
    """``x`` as HTML-escaped text."""
    return html.escape(str(x), quote=True)


def fmt(v) -> str:
    """A cell value as short text: floats to 4 significant digits (numeric strings from
    a CSV too), lists and dicts as compact JSON (long ones shortened), None as empty."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isfinite(v):
        return "0" if v == 0 else f"{v:.4g}"
    if isinstance(v, (list, tuple, dict)):  # its floats rounded to 4 significant digits
        s = json.dumps(json.loads(json.dumps(v), parse_float=lambda x: float(f"{float(x):.4g}")),
                       separators=(", ", ": "))
        return s if len(s) <= 90 else s[:87] + "..."
    s = str(v)
    if not isinstance(v, (int, float)) and any(c.isdigit() for c in s) and ("." in s or "e" in s.lower()):
        with contextlib.suppress(ValueError):
            return fmt(float(s))
    return s


def _is_num(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table(rows: list[dict], columns=None, max_rows: int | None = None, raw: frozenset = frozenset(),
          align: bool = True) -> str:
    """An HTML table of a list of dicts (columns: the union of their keys, in order).
    Cells are escaped, except those of the columns in ``raw`` (already HTML); numbers
    are right-aligned unless ``align`` is false; long text wraps. With ``max_rows``
    only the first rows are shown, followed by a note."""
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    shown = rows[:max_rows]
    out = ["<div class='scroll'><table>", "<tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr>"]
    for r in shown:
        cells = []
        for c in columns:
            t = ("" if r.get(c) is None else str(r[c])) if c in raw else fmt(r.get(c))
            cls = "num" if c not in raw and align and t and _is_num(t) else "wrap" if len(t) > 60 else ""
            cells.append((f"<td class='{cls}'>" if cls else "<td>") + (t if c in raw else esc(t)) + "</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    if len(shown) < len(rows):
        out.append(f"<p><em>first {len(shown)} of {len(rows)} rows shown</em></p>")
    return "\n".join(out)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    return [kv for k, v in d.items()
            for kv in (_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [(f"{prefix}{k}", v)])]


def kv_table(d: dict, columns=("key", "value")) -> str:
    """A two-column table (headed ``columns``) of a (nested) dict, nested keys joined by dots."""
    return table([dict(zip(columns, kv)) for kv in _flatten(d)], columns=list(columns), align=False)


def table_file(path, max_rows: int | None = None) -> tuple[str, int]:
    """The HTML table of a CSV or JSON file, and its number of rows: a list of dicts as
    rows, a dict as key/value pairs (a dict holding a list of dicts, like ``{"summary":
    ..., "rows": [...]}``, as both; its rows are its pairs and listed rows)."""
    with open(path, newline="") as f:
        data = list(csv.DictReader(f)) if Path(path).suffix == ".csv" else json.load(f)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return table(data, max_rows=max_rows), len(data)
    if not isinstance(data, dict):
        return f"<pre>{esc(json.dumps(data, indent=1)[:4000])}</pre>", len(data) if isinstance(data, list) else 1
    lists = {k: v for k, v in data.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}
    rest = {k: v for k, v in data.items() if k not in lists}
    parts = [kv_table(rest)] if rest else []
    parts += [f"<p><strong>{esc(k)}</strong></p>" + table(v, max_rows=max_rows) for k, v in lists.items()]
    n = sum(len(v) if isinstance(v, list) else len(_flatten(v)) if isinstance(v, dict) else 1 for v in data.values())
    return "\n".join(parts), n


def figure(src: str, caption: str, links: dict | None = None) -> str:
    """An image by relative path, with a caption and links to other files of the
    figure (e.g. ``{"PDF": "theory/theory_learned.pdf"}``)."""
    more = "".join(f" &middot; <a href='{esc(href)}'>{esc(name)}</a>" for name, href in (links or {}).items())
    return (f"<figure><a href='{esc(src)}'><img src='{esc(src)}' alt='{esc(caption)}'></a>"
            f"<figcaption>{esc(caption)} &middot; <code>{esc(src)}</code>{more}</figcaption></figure>")


def badge(text: str, kind: str) -> str:
    """A coloured label; ``kind`` is one of pass, fail, skip, info."""
    return f"<span class='badge {kind}'>{esc(text)}</span>"


def document(title: str, body: str) -> str:
    """A whole HTML5 page."""
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
