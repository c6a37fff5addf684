"""Check the built documentation site against examples/: every ``examples/plot_*.py``
has its first figure (``_images/sphx_glr_<name>_001.png``), its page and its notebook.

Run after the docs build: ``python .ci/check_gallery.py [docs/_build/html]``.
Exits 1 listing what is missing.
"""
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
site = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "docs" / "_build" / "html"
examples = sorted((root / "examples").glob("plot_*.py"))
notebooks = {p.name for p in (site / "_downloads").rglob("*.ipynb")}
missing = []
for ex in examples:
    for what, ok in (("figure", (site / "_images" / f"sphx_glr_{ex.stem}_001.png").is_file()),
                     ("page", (site / "auto_examples" / f"{ex.stem}.html").is_file()),
                     ("notebook", f"{ex.stem}.ipynb" in notebooks)):
        if not ok:
            missing.append(f"{ex.name}: no {what} in {site}")
if not examples:
    missing.append("no examples/plot_*.py found")
print("\n".join(missing) or f"gallery: {len(examples)} examples, each with its figure, page and notebook in {site}")
sys.exit(1 if missing else 0)
