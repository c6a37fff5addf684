"""The page of ``gandyn reproduce``, ``DIR/index.html``, rendered from its record (the
dict written as ``DIR/reproduce.json``, :mod:`gandyn.app.report`) and the parts' files.

Figures are referenced by relative paths, so the page and its folder can be moved or
served together. No scripts, no external stylesheets, no lazily loaded images: the
page shows the same thing in any browser, online or not.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import re
from html import escape
from pathlib import Path

__all__ = ["page", "table", "table_file", "fmt", "held", "dir_words", "SETTINGS"]

#: What each profile of ``gandyn reproduce`` runs, as the page says it.
SETTINGS = {"full": "full: each command's defaults, except where a part's commands say otherwise",
            "quick": "quick: smaller settings of every part (see each part's commands); "
                     "numbers differ from the docs' full runs",
            "tiny": "tiny: the smallest settings, a smoke run"}

#: A status's badge text where it is not the status itself (the CSS class is the status).
_BADGE = {"fail": "FAIL", "error": "ERROR", "pending": "not run yet"}

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 0 auto; padding: 1em; line-height: 1.45; }
h2 { margin-top: 2em; border-top: 2px solid #ddd; } img { max-width: 100%; } pre { white-space: pre-wrap; }
table { border-collapse: collapse; font-size: 0.86em; } .scroll { overflow-x: auto; }
th, td { border: 1px solid #d6d6d6; padding: 0.2em 0.5em; text-align: left; vertical-align: top; max-width: 40em; }
.badge { padding: 0 0.5em; border-radius: 0.8em; } .pass { background: #d9f2dd; } .pending { background: #e6ecf5; }
.fail, .error, .interrupted { background: #fadadb; } .skipped, .note { background: #fdf1cf; }
"""


def esc(x) -> str:
    return escape(str(x), quote=True)


def fmt(v) -> str:
    """A cell value as short text: floats to 4 significant digits (numeric strings from
    a CSV too), lists and dicts as compact JSON (long ones shortened), None as empty."""
    if v is None:
        return ""
    if isinstance(v, str) and any(c.isdigit() for c in v) and ("." in v or "e" in v.lower()):
        with contextlib.suppress(ValueError):
            v = float(v)
    if isinstance(v, float) and math.isfinite(v):
        return "0" if v == 0 else f"{v:.4g}"
    if isinstance(v, (list, tuple, dict)):  # its floats rounded to 4 significant digits
        s = json.dumps(json.loads(json.dumps(v), parse_float=lambda x: float(f"{float(x):.4g}")),
                       separators=(", ", ": "))
        return s if len(s) <= 90 else s[:87] + "..."
    return str(v)


def table(rows: list[dict], max_rows: int | None = None, raw: tuple = ()) -> str:
    """An HTML table of a list of dicts (columns: the union of their keys, in order), its
    cells formatted (:func:`fmt`) and escaped, except those of the columns in ``raw``
    (already HTML). With ``max_rows`` only the first rows are shown, and a note says so."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = ["<div class='scroll'><table>", "<tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{r.get(c, '') if c in raw else esc(fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
            for r in rows[:max_rows]]
    out.append("</table></div>")
    if max_rows is not None and len(rows) > max_rows:
        out.append(f"<p><em>first {max_rows} of {len(rows)} rows shown</em></p>")
    return "\n".join(out)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    return [kv for k, v in d.items()
            for kv in (_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [(f"{prefix}{k}", v)])]


def _kv_table(d: dict, columns=("key", "value")) -> str:
    """A two-column table (headed ``columns``) of a (nested) dict, nested keys joined by dots."""
    return table([dict(zip(columns, kv)) for kv in _flatten(d)])


def table_file(path, max_rows: int | None = None) -> tuple[str, int]:
    """The HTML table of a CSV file or a JSON list of objects (its rows), or of a JSON object
    (its key/value pairs, nested keys joined by dots), and its number of rows (a list in an
    object counts its items)."""
    with open(path, newline="") as f:
        data = list(csv.DictReader(f)) if Path(path).suffix == ".csv" else json.load(f)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return table(data, max_rows), len(data)
    if not isinstance(data, dict):  # another JSON value: shown as it is
        return f"<pre>{esc(json.dumps(data, indent=1)[:4000])}</pre>", len(data) if isinstance(data, list) else 1
    n = sum(len(v) if isinstance(v, list) else len(_flatten(v)) if isinstance(v, dict) else 1 for v in data.values())
    return _kv_table(data), n


def held(checks: list[dict]) -> tuple[int, int]:
    """How many of ``checks`` hold, of how many with a bound."""
    return sum(c["ok"] is True for c in checks), sum(c["ok"] is not None for c in checks)


def dir_words(text: str, root: Path) -> str:
    """``text`` with the output folder ``root`` written as DIR wherever it starts a path."""
    return re.sub(r"(?<![\w./-])" + re.escape(str(root)) + r"(?=[/\s,;:)]|$)", "DIR", text)


def _badge(status: str) -> str:
    return f"<span class='badge {status}'>{_BADGE.get(status, status)}</span>"


def _seconds(s, unit: str = "") -> str:
    return "" if s is None else f"{s:.1f}{unit}"


def page(record: dict, parts, root: Path) -> str:
    """The HTML of ``root/index.html``: the run's ``record`` (as reproduce.json, each part's
    entry with its console output, ``log``), and of each of ``parts`` (the entries of
    ``parts.json``) what it shows, read from its folder ``root/<name>``."""
    results = record["parts"]
    stopped = any(r["status"] == "pending" for r in results)
    info = {"command": record["command"], "settings": SETTINGS[record["profile"]], "seed": record["seed"],
            "started": record["started_utc"], "wall time": _seconds(record["seconds"], " s")}
    rows = []
    for i, r in enumerate(results, 1):
        name, (n_held, n_bounded) = esc(r["name"]), held(r["checks"])
        rows.append({"#": i, "part": f"<a href='#{name}'>{name}</a>", "what": r["title"], "status": _badge(r["status"]),
                     "checks": f"{n_held} of {n_bounded} hold" if n_bounded else "", "seconds": _seconds(r["seconds"]),
                     "folder": f"<a href='{name}/'>{name}/</a>" if r["status"] in ("pass", "fail") else ""})
    body = ["<h1>gandyn: reproduced figures and tables</h1>",
            "<p>Every figure and table of the results pages in <code>docs/</code>, recomputed by "
            "<code>gandyn reproduce</code>" + (" (<strong>run in progress or stopped</strong>: parts marked \"not run"
                                               " yet\" have not completed)" if stopped else "") + ".</p>",
            _kv_table(info, ("", "value")),
            "<p>The same as JSON: <a href='reproduce.json'>reproduce.json</a>. "
            "<code>DIR</code> below is the folder of this page.</p>",
            "<h3>Parts</h3>", table(rows, raw=("part", "status", "folder")),
            "<h3>Versions</h3>", _kv_table(record["versions"], ("", "version")),
            *(_section(i, r, p, root) for i, (r, p) in enumerate(zip(results, parts), 1))]
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            f"<title>gandyn reproduce</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _section(i: int, r: dict, part: dict, root: Path) -> str:
    name, folder = part["name"], root / part["name"]
    s = [f"<h2 id='{esc(name)}'>{i}. {esc(part['title'])} {_badge(r['status'])}</h2>",
         f"<p>{esc(part['about'])} See <code>{esc(part['docs'])}</code>.</p>"]
    if r["note"]:
        s.append(f"<p class='{'error' if r['status'] in ('error', 'interrupted') else 'note'}'>{esc(r['note'])}</p>")
    if r["commands"]:  # a part that ran (not pending or skipped)
        s += ["<h3>Commands</h3>", table([{"command": "gandyn " + " ".join(c["argv"]), "exit status": c["status"],
                                           "seconds": _seconds(c["seconds"])} for c in r["commands"]])]
        argv = r["commands"][0]["argv"]
        s.append(f"<p>Seed {argv[argv.index('--seed') + 1]}; wall time of the part {r['seconds']:.1f} s.</p>")
    log = r.get("log", "").strip()
    log = [f"<details><summary>console output</summary><pre>{esc(log)}</pre></details>"] if log else []
    if r["status"] not in ("pass", "fail"):  # what a part that completed shows: checks, figures, tables, files
        return "\n".join(s + log)
    if r["checks"]:
        s += ["<h3>Checks and measurements</h3>", table([
            {"quantity": c["name"], "value": c["value"], "bound": c["bound"],
             "result": "" if c["ok"] is None else _badge("pass" if c["ok"] else "fail")} for c in r["checks"]],
            raw=("result",))]
    if r["missing"]:
        s.append(f"<p class='error'>missing: {esc(', '.join(r['missing']))}</p>")
    figures = [f for f in part["figures"] if (folder / f["path"]).is_file()]
    s += ["<h3>Figures</h3>"] if figures else []
    for f in figures:
        src, caption = esc(f"{name}/{f['path']}"), esc(f["caption"])
        pdf = Path(name, f["path"]).with_suffix(".pdf").as_posix()
        pdf = f" &middot; <a href='{esc(pdf)}'>PDF</a>" if (root / pdf).is_file() else ""
        s.append(f"<figure><a href='{src}'><img src='{src}' alt='{caption}'></a>"
                 f"<figcaption>{caption} &middot; <code>{src}</code>{pdf}</figcaption></figure>")
    tables = [t for t in part["tables"] if (folder / t["path"]).is_file()]
    s += ["<h3>Tables</h3>"] if tables else []
    for t in tables:
        rel = esc(f"{name}/{t['path']}")
        try:
            html, n = table_file(folder / t["path"], t.get("max_rows"))
        except (OSError, ValueError) as e:
            html, n = f"<p class='error'>cannot read {rel}: {esc(e)}</p>", 0
        s.append(f"<details{' open' if n <= 30 else ''}><summary><code>{rel}</code>: {esc(t['caption'])} ({n:,} rows)"
                 f"</summary><p><a href='{rel}'>{rel}</a></p>{dir_words(html, root)}</details>")
    files = sorted(f.relative_to(root).as_posix() for f in folder.rglob("*") if f.is_file())
    s.append(f"<details><summary>all {len(files)} files of this part</summary><ul>"
             + "".join(f"<li><a href='{esc(f)}'>{esc(f)}</a></li>" for f in files) + "</ul></details>")
    return "\n".join(s + log)
