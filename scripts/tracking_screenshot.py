"""The README's picture of a sweep in MLflow: what a user sees, rendered by the MLflow UI itself.

Runs a real 2-model x 5-seed sweep of the shipped ``imbalanced_clf`` example
(Python API), sends it to a real ``mlflow server`` on 127.0.0.1 (SQLite
store in a temporary directory, stopped at the end), and takes a screenshot
of the random forest's parent run page with headless Chromium (Debian's
``chromium-headless-shell``), cropped to the page's main column (MLflow
3.17's layout: the navigation on the left and the assistant panel on the
right are cut off)::

    apt-get install -y chromium-headless-shell
    .venv/bin/python scripts/tracking_screenshot.py          # -> docs/images/tracking_screenshot.png

Needs the ``mlflow`` extra. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from mlflow_server import running_mlflow_server  # noqa: E402  (tests/: the server the tests use)

import seedexp  # noqa: E402
from seedexp.examples.imbalanced_clf import run as imbalanced_clf  # noqa: E402
from seedexp.tracking import send  # noqa: E402

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "tracking_screenshot.png")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--size", default="1500,1700", help="window width,height in pixels")
    parser.add_argument("--crop", default="196,0,1107,1620", help="left,top,right,bottom kept, in pixels")
    args = parser.parse_args()
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("no headless Chromium: apt-get install -y chromium-headless-shell", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="seedexp_screenshot_") as tmp:
        tmp_path = Path(tmp)
        summary = seedexp.sweep(imbalanced_clf, seeds=args.seeds, params={"model": ["rf", "lr"]},
                                out=tmp_path / "imbalanced_clf", progress=False, report={"baseline": "model=lr"}).data
        with running_mlflow_server(tmp_path / "mlflow") as uri:
            config = {"backend": "mlflow", "uri": uri, "experiment": "imbalanced_clf"}
            warnings = send(tmp_path / "imbalanced_clf", summary, config)
            if warnings:
                print("\n".join(warnings), file=sys.stderr)
                return 1
            from mlflow.tracking import MlflowClient

            client = MlflowClient(uri)
            experiment = client.get_experiment_by_name("imbalanced_clf")
            (parent,) = client.search_runs([experiment.experiment_id],
                                           "tags.`seedexp.kind` = 'group' and tags.`seedexp.group` = 'model=rf'")
            url = f"{uri}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}"
            args.out.parent.mkdir(parents=True, exist_ok=True)
            full = tmp_path / "page.png"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size={args.size}", "--virtual-time-budget=20000",
                            f"--screenshot={full}", url],
                           check=True, capture_output=True, timeout=300)
        from PIL import Image

        with Image.open(full) as page:
            page.crop(tuple(int(x) for x in args.crop.split(","))).save(args.out, optimize=True)
    print(f"wrote {args.out} ({url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
