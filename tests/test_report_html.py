"""summary.html: one self-contained page per sweep, checked as text and in a real browser (headless Chromium)."""

from __future__ import annotations

import html
import json
import re

import pytest

from conftest import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden" / "declared" / "summary.json"
VERSIONS = {"python": "3.11.7", "seedexp": "0.2.0", "numpy": "2.4.6", "scipy": "1.17.1", "statsmodels": "0.15.0"}


def golden() -> dict:
    summary = json.loads(GOLDEN.read_text())
    summary["versions"] = VERSIONS  # the golden file leaves them out (they change with the environment)
    return summary


def no_network(page: str) -> None:
    """Nothing in the page can be fetched: the policy forbids it, and no tag asks for it."""
    assert "Content-Security-Policy\" content=\"default-src 'none'; img-src data:;" in page
    assert not re.search(r"<(link|iframe|object|embed)\b", page)
    assert re.findall(r"\b(?:src|href)=\"(?!#|data:image/png;base64,)([^\"]*)\"", page) == []


@pytest.mark.fast
def test_the_page_of_a_summary_holds_every_table_run_option_and_version():
    from seedexp.report import to_markdown
    from seedexp.report_html import to_html

    summary = golden()
    page = to_html(summary)
    no_network(page)
    markdown = to_markdown(summary)
    # every row of every table of summary.md is a row of the page, with the same cells
    md_rows = [ln for ln in markdown.splitlines() if ln.startswith("|") and not re.match(r"^\|[-:|]+\|$", ln)]
    for line in md_rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        text = re.sub(r"\*\*|`", "", cells[0])
        assert f">{html.escape(text, quote=False)}<" in page or html.escape(text, quote=False) in page, line
    # the seed=auto verdict leads, before the fixed-n tables it qualifies
    assert page.index("Verdict of seed=auto") < page.index("val_loss (lower is better)")
    assert "<strong>worse</strong>" in page and "<strong>Stopped after 25 seeds</strong>" in page
    # every planned run, with its status
    runs = page.split('id="runs"', 1)[1].split('id="analysis"', 1)[0]
    statuses = re.findall(r'<td class="status-(\w+)">\1</td>', runs)
    assert len(statuses) == summary["n_runs"] == 54
    assert {s: statuses.count(s) for s in set(statuses)} == {"ok": 50, "failed": 1, "crashed": 1, "missing": 2}
    # the declared analysis and the versions that computed it
    analysis = page.split('id="analysis"', 1)[1]
    for key, value in (("test", "permutation"), ("correction", "bh"), ("baseline", "experiment.model=b"),
                       ("confidence", "0.9"), ("target_difference", "0.02")):
        assert f"<code>report.{key}</code></td><td><code>{value}</code>" in analysis
    assert all(f"{k} {v}" in analysis for k, v in VERSIONS.items())
    assert "Benjamini-Hochberg" in analysis  # the methods, in words
    # sortable without a library; readable without it (the tables are in the HTML itself)
    assert page.count('<table class="sortable">') >= 5 and page.count("<script>") == 1


@pytest.mark.fast
def test_what_the_runs_named_is_escaped_not_executed():
    from seedexp.api import summarize
    from seedexp.report_html import to_html

    bad = '<script>alert("x")</script>&**bold**'
    records = [{"group": g, "seed": s, "status": "ok", "metrics": {"acc<b>": 0.5 + 0.01 * s + (g == bad) * 0.1}}
               for g in ("model=a", bad) for s in range(4)]
    page = to_html(summarize(records).data)
    assert '<script>alert("x")' not in page and "&lt;script&gt;alert" in page
    assert "acc&lt;b&gt;" in page and "<b>" not in page.replace("<body>", "")
    assert page.count("<script>") == 1  # seedexp's own, at the end
    no_network(page)


@pytest.mark.fast
def test_report_open_opens_the_page_and_refuses_no_write(tmp_path, capsys, monkeypatch):
    import webbrowser

    import seedexp
    from seedexp.cli import main

    seedexp.sweep(_score, seeds=3, params={"model": ["a", "b"]}, out=tmp_path / "sw", progress=False)
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or False)
    assert main(["report", str(tmp_path / "sw"), "--open"]) == 0
    assert opened == [(tmp_path / "sw" / "summary.html").as_uri()]
    assert "no web browser to open here; the page is file://" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "sw"), "--open", "--no-write"]) == 2
    assert "--open shows summary.html, which --no-write does not write" in capsys.readouterr().err


def _score(seeds, model="a"):
    rng = seeds.generator("model")
    return {"acc": 0.8 + (0.05 if model == "b" else 0.0) + 0.02 * float(rng.standard_normal())}


def _curves(seeds, model="a"):
    """A run that logs a curve, and fails on one seed (so the page lists a failed run)."""
    import seedexp

    if model == "b" and seeds.master == 3:
        raise RuntimeError("diverged")
    rng = seeds.generator("model")
    acc = 0.5
    for epoch in range(6):
        acc += (0.06 if model == "b" else 0.04) + 0.01 * float(rng.standard_normal())
        seedexp.log(epoch, val_acc=acc)
    return {"acc": acc, "loss": 1.0 - acc + 0.05 * float(rng.random())}


def test_the_phases_of_a_tuning_study_show_its_picture(tmp_path):
    """tuning.png is drawn after both phases' summaries: their pages are rendered again to embed it."""
    import seedexp

    pytest.importorskip("optuna")
    seedexp.tune(_tuned, {"x": "interval(0, 1)"}, seeds=2, n_trials=3, finalists=2, out=tmp_path / "study",
                 progress=False)
    for phase in ("search", "fresh"):
        page = (tmp_path / "study" / phase / "summary.html").read_text()
        assert page.count('alt="The tuning study" src="data:image/png;base64,') == 1, phase


def _tuned(seeds, x):
    return {"loss": (x - 0.3) ** 2 + 0.01 * float(seeds.generator("model").normal())}


# --------------------------------------------------------------------------- in a real browser


def test_a_sweeps_page_in_headless_chromium(tmp_path):
    """One Chromium: the page loads with no console error, shows its tables and pictures, sorts, is not blank."""
    import browser

    import seedexp

    try:
        browser.chromium()
    except browser.BrowserUnavailable as exc:
        pytest.skip(str(exc))
    summary = seedexp.sweep(_curves, seeds=5, params={"model": ["a", "b"]}, out=tmp_path / "sw", progress=False)
    page = tmp_path / "sw" / "summary.html"
    assert page.is_file() and (tmp_path / "sw" / "summary.md").is_file()  # beside summary.md
    assert summary.data["n_failed"] == 1
    no_network(page.read_text())
    seen = browser.render(page, tmp_path / "shot.png")
    assert seen["problems"] == [], seen["problems"]  # no console error, no blocked request, no exception
    m = seen["measure"]
    assert m["title"] == f"seedexp summary: {tmp_path / 'sw'}"
    alts = [i["alt"] for i in m["images"]]
    assert alts[:2] == ["Intervals per group", "Paired differences per seed"]
    assert any(a.startswith("val_acc: mean per step") for a in alts)  # the curve figure, in its section
    for image in m["images"]:  # decoded and drawn, not a broken-image icon
        assert image["complete"] and image["width"] > 200 and image["height"] > 100 and image["shown"] > 200, image
    assert m["sortable"] >= 4 and m["rows"] >= 10 + 2 + 1
    assert sorted(m["statuses"]) == ["failed"] + ["ok"] * 9
    assert {"Pictures", "Every planned run", "Declared analysis, methods and versions"} <= set(m["headings"])
    assert any(h.startswith("Curves") for h in m["headings"])
    # a click on the head of a column sorts by it (numbers by value), a second click reverses
    s = seen["sort"]
    values = [float(t.split()[0]) for t in s["up"]]
    assert s["upSort"] == "ascending" and values == sorted(values) and s["down"] == s["up"][::-1]
    stats = browser.screenshot_stats(tmp_path / "shot.png")
    assert stats["width"] == 1280 and stats["height"] >= 2000
    assert stats["inked"] > 0.03 and stats["colours"] > 200  # text, tables and pictures: not a blank page


@pytest.mark.fast
def test_the_screenshot_in_the_docs_is_a_real_one():
    """docs/images/summary_html.png: made by scripts/summary_screenshot.py with tests/browser.py, not drawn by hand."""
    import browser

    shot = ROOT / "docs" / "images" / "summary_html.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = browser.screenshot_stats(shot)
    assert stats["width"] >= 1000 and stats["inked"] > 0.03 and stats["colours"] > 200
    assert "browser.render" in (ROOT / "scripts" / "summary_screenshot.py").read_text()
