"""The docs' picture of ``summary.html``: a real sweep's page, as headless Chromium shows it.

Runs the getting-started sweep in a temporary directory (``seedexp -m
experiment=imbalanced_clf experiment.model=rf,lr 'seed=range(0,10)'``, on the
joblib launcher), loads its ``summary.html`` in headless
Chromium with ``tests/browser.py`` (the same driver the browser test uses:
Debian's ``chromium``, installed with apt-get when missing and root), checks
that it loaded with no console error and every picture drawn, and keeps the
top of the page (the counts, the pictures and the first table)::

    .venv/bin/python scripts/summary_screenshot.py          # -> docs/images/summary_html.png

Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import browser  # noqa: E402  (tests/: the driver the browser test uses)

#: The sweep of docs/getting-started.md ("One sweep"), two runs at a time.
COMMAND = ["-m", "experiment=imbalanced_clf", "experiment.model=rf,lr", "seed=range(0,10)", "hydra/launcher=joblib",
           "hydra.launcher.n_jobs=2", "hydra.sweep.dir=multirun/rf_vs_lr"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "summary_html.png")
    parser.add_argument("--width", type=int, default=1280, help="window width in pixels")
    parser.add_argument("--height", type=int, default=1900, help="pixels kept from the top of the page")
    args = parser.parse_args()
    try:
        browser.chromium()
    except browser.BrowserUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="study_") as tmp:
        sweep_dir = Path(tmp) / "multirun" / "rf_vs_lr"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-m", "seedexp", *COMMAND], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=900)
        full = Path(tmp) / "page.png"
        seen = browser.render(sweep_dir / "summary.html", full, width=args.width)
        if seen["problems"] or not all(i["complete"] and i["width"] for i in seen["measure"]["images"]):
            print("the page did not load cleanly:", *seen["problems"], seen["measure"]["images"], sep="\n",
                  file=sys.stderr)
            return 1
        from PIL import Image

        args.out.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(full) as page:
            page.crop((0, 0, page.width, min(page.height, args.height))).save(args.out, optimize=True)
    print(f"wrote {args.out} ({seen['version']}; {len(seen['measure']['images'])} pictures, "
          f"{seen['measure']['tables']} tables, no console error)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
