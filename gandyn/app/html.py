"""A small, dependency-free HTML writer for result pages (``gandyn reproduce``).

Everything here returns strings; nothing touches the disk except :func:`read_table`.
Figures are referenced by relative paths, so a page and its folder can be moved or
served together. No scripts, no external stylesheets, no lazily loaded images: the
page shows the same thing in any browser, online or not.
"""
from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path

__all__ = ["esc", "fmt", "table", "kv_table", "read_table", "count_rows", "table_file", "figure", "badge", "document"]

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
nav a { margin-right: 1em; }
"""


def esc(x) -> str:
    """``x`` as HTML-escaped text."""
    return html.escape(str(x), quote=True)


def fmt(v) -> str:
    """A cell value as short text: floats to 4 significant digits (numeric strings from
    a CSV too), lists and dicts as compact JSON (long ones shortened), None as empty."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return "0" if v == 0 else f"{v:.4g}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple, dict)):
        s = json.dumps(_round(v), separators=(", ", ": "))
        return s if len(s) <= 90 else s[:87] + "..."
    s = str(v)
    if s and any(c.isdigit() for c in s) and ("." in s or "e" in s.lower()):
        try:
            return fmt(float(s))
        except ValueError:
            pass
    return s


def _round(v):
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    return v


def _is_num(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def table(rows: list[dict], columns=None, max_rows: int | None = None, raw: frozenset = frozenset(),
          align: bool = True) -> str:
    """An HTML table of a list of dicts (columns: the union of their keys, in order).
    Cells are escaped, except those of the columns in ``raw`` (already HTML); numbers
    are right-aligned unless ``align`` is false; long text wraps. With ``max_rows``
    only the first rows are shown, followed by a note."""
    if columns is None:
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
    shown = rows if max_rows is None else rows[:max_rows]
    out = ["<div class='scroll'><table>", "<tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr>"]
    for r in shown:
        cells = []
        for c in columns:
            v = r.get(c)
            if c in raw:
                v = "" if v is None else str(v)
                cells.append(f"<td class='wrap'>{v}</td>" if len(v) > 60 else f"<td>{v}</td>")
                continue
            t = fmt(v)
            cls = " class='num'" if align and t and _is_num(t) else " class='wrap'" if len(t) > 60 else ""
            cells.append(f"<td{cls}>{esc(t)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    if len(shown) < len(rows):
        out.append(f"<p><em>first {len(shown)} of {len(rows)} rows shown</em></p>")
    return "\n".join(out)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    items = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            items += _flatten(v, key + ".")
        else:
            items.append((key, v))
    return items


def kv_table(d: dict) -> str:
    """A two-column table of a (nested) dict, nested keys joined by dots."""
    return table([{"key": k, "value": v} for k, v in _flatten(d)], columns=["key", "value"], align=False)


def read_table(path) -> list[dict] | dict:
    """A CSV file as a list of dicts (cells as text), or a JSON file as it is."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    return json.loads(path.read_text())


def count_rows(path) -> int:
    """Rows of a CSV or JSON table file (a JSON dict counts its pairs and listed rows)."""
    data = read_table(path)
    if isinstance(data, dict):
        return sum(len(v) if isinstance(v, list) else len(_flatten(v)) if isinstance(v, dict) else 1
                   for v in data.values())
    return len(data) if isinstance(data, list) else 1


def table_file(path, max_rows: int | None = None) -> str:
    """The HTML table of a CSV or JSON file: a list of dicts as rows, a dict as
    key/value pairs (a dict holding a list of dicts, like ``{"summary": ..., "rows":
    [...]}``, as both)."""
    data = read_table(path)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return table(data, max_rows=max_rows)
    if isinstance(data, dict):
        lists = {k: v for k, v in data.items()
                 if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}
        rest = {k: v for k, v in data.items() if k not in lists}
        parts = [kv_table(rest)] if rest else []
        parts += [f"<p><strong>{esc(k)}</strong></p>" + table(v, max_rows=max_rows) for k, v in lists.items()]
        return "\n".join(parts)
    return f"<pre>{esc(json.dumps(data, indent=1)[:4000])}</pre>"


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
