"""Render a sweep summary as ONE self-contained web page: ``summary.html`` beside ``summary.md``.

The page holds everything ``summary.md`` says (the groups' tables with their
intervals, the paired comparisons with their verdicts, the verdict of
``seed=auto``, the benchmark and curve sections, how many seeds), and adds:

* the pictures, embedded as ``data:`` URIs: the intervals per group
  (``summary.png``), the paired differences seed by seed (drawn here, for the
  page only), and the benchmark, curve and tuning pictures where a sweep has
  them;
* every planned run with its status and metrics;
* the declared analysis (every ``report.*`` option, each method in words) and
  the versions that computed it.

Nothing is fetched: styles are inline, a Content-Security-Policy forbids any
network request, and the one inline script only makes tables sortable (a click
on a column's head). Without JavaScript the page reads the same, unsorted.

:func:`write_html` is what :func:`seedexp.summary_files.write_summary` calls last,
once the pictures are on disk; :func:`refresh` re-renders the page of an
existing summary (a tuning study does, once its ``tuning.png`` is drawn).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["HTML_NAME", "markdown_to_html", "to_html", "pictures", "paired_figure", "write_html", "refresh"]

HTML_NAME = "summary.html"

#: At most this many comparisons per metric are drawn in the paired-differences picture (the table lists all).
MAX_PAIRED_ROWS = 30
#: ... and at most this many metrics, side by side.
MAX_PAIRED_METRICS = 6
#: Above this many runs the table of every run starts folded (``<details>``; no script needed to unfold it).
RUNS_FOLDED_FROM = 200

_NUM, _SORTABLE, _INDENT = ' class="num"', ' class="sortable"', ' style="margin-left:1rem"'

#: No request leaves the page: images only as data: URIs, the inline style and script only.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_STYLE = """
:root { color-scheme: light; --line: #d0d7de; --muted: #57606a; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328;
       margin: 0 auto; padding: 1.2rem 1.5rem 3rem; max-width: 1400px; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; word-break: break-all; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
p, li { max-width: 110ch; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f6f8fa;
       padding: 0 .25em; border-radius: 4px; }
nav.toc { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
nav.toc ul { margin: .2rem 0; padding-left: 1.2rem; columns: 2; }
.scroll { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fbfcfd; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
.status-ok { color: var(--ok); } .status-failed, .status-crashed { color: var(--bad); font-weight: 600; }
.status-missing { color: var(--warn); font-weight: 600; }
.counts span { margin-right: 1rem; }
figure { margin: .8rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12.5px; max-width: 110ch; }
.muted { color: var(--muted); }
details > summary { cursor: pointer; margin: .4rem 0; }
dl.methods dt { font-weight: 600; margin-top: .4rem; } dl.methods dd { margin-left: 1.2rem; max-width: 110ch; }
footer { margin-top: 3rem; color: var(--muted); font-size: 12px; }
@media print { nav.toc, footer { display: none; } th { position: static; } }
"""

#: Sorts a table by a click on a column's head: numbers by value (the first number of the cell), else text.
_SCRIPT = """
(function () {
  function key(cell) {
    var text = cell.getAttribute("data-sort") || cell.textContent.trim();
    var m = text.replace(/\\u2212/g, "-").match(/^[<>~]?\\s*(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)/i);
    return m ? {num: true, v: parseFloat(m[1])} : {num: false, v: text.toLowerCase()};
  }
  function compare(a, b) {
    if (a.num && b.num) { return a.v - b.v; }
    if (a.num !== b.num) { return a.num ? -1 : 1; }
    return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.title = "sort by this column";
      th.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(key(r1.cells[col]), key(r2.cells[col]));
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""


# --------------------------------------------------------------------------- markdown (seedexp's own) to HTML


def _inline(text: str, images: Mapping[str, bytes]) -> str:
    """``code``, **bold** and images of one line of seedexp's markdown, everything else escaped."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        pieces = re.split(r"(!\[[^\]]*\]\([^)\s]+\))", part)
        for j, piece in enumerate(pieces):
            if j % 2:
                alt, src = re.match(r"!\[([^\]]*)\]\(([^)\s]+)\)", piece).groups()
                out.append(_img(alt, images.get(src)) or f"<span class=\"muted\">[{html.escape(alt)}: {html.escape(src)} "
                                                          "not drawn]</span>")
                continue
            escaped = html.escape(piece, quote=False)
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped))
    return "".join(out)


def _img(alt: str, png: bytes | None) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(head: list[str], align: list[str], rows: list[list[str]], images: Mapping[str, bytes],
           sortable: bool = True) -> str:
    def cell(tag: str, text: str, a: str) -> str:
        return f"<{tag}{_NUM if a == 'right' else ''}>{_inline(text, images)}</{tag}>"

    thead = "".join(cell("th", h, a) for h, a in zip(head, align))
    body = "\n".join("<tr>" + "".join(cell("td", c, a) for c, a in zip(r, align)) + "</tr>" for r in rows)
    return (f'<div class="scroll"><table{_SORTABLE if sortable and len(rows) > 1 else ""}>'
            f"<thead><tr>{thead}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>")


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


def markdown_to_html(text: str, images: Mapping[str, bytes] | None = None,
                     toc: list[tuple[int, str, str]] | None = None, taken: set[str] | None = None) -> str:
    """The markdown seedexp writes (headings, tables, lists, paragraphs, ``code``, **bold**, images) as HTML.

    Not a general markdown converter: it reads what :func:`seedexp.report.to_markdown`
    and the section renderers produce. Every character of the text is escaped;
    ``images`` maps an image's file name to its PNG bytes (embedded), and
    ``toc`` collects ``(level, id, title)`` of each ``##``/``###`` heading.

    Examples
    --------
    >>> print(markdown_to_html("## acc <b>\\n\\n| group | n |\\n|---|---:|\\n| a | **5** |"))
    <h2 id="acc-b">acc &lt;b&gt;</h2>
    <div class="scroll"><table><thead><tr><th>group</th><th class="num">n</th></tr></thead>
    <tbody>
    <tr><td>a</td><td class="num"><strong>5</strong></td></tr>
    </tbody></table></div>
    """
    images = images or {}
    taken = set() if taken is None else taken
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,4}) (.*)$", line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2).strip()
            ident = _slug(re.sub(r"[`*]", "", title), taken)
            if toc is not None and level in (2, 3):
                toc.append((level, ident, re.sub(r"[`*]", "", title)))
            out.append(f'<h{level} id="{ident}">{_inline(title, images)}</h{level}>')
            i += 1
            continue
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|(\s*:?-+:?\s*\|)+\s*$", lines[i + 1]):
            head = _cells(line)
            align = ["right" if c.endswith(":") else "left" for c in _cells(lines[i + 1])]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append((_cells(lines[i]) + [""] * len(head))[:len(head)])
                i += 1
            out.append(_table(head, align, rows, images))
            continue
        if re.match(r"^[-*] ", line):
            items = []
            while i < len(lines) and re.match(r"^[-*] ", lines[i]):
                items.append(lines[i][2:])
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():  # a wrapped item
                    items[-1] += " " + lines[i].strip()
                    i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(t, images)}</li>" for t in items) + "</ul>")
            continue
        para = [line]
        i += 1
        while (i < len(lines) and lines[i].strip() and not lines[i].startswith(("|", "#"))
               and not re.match(r"^[-*] ", lines[i])):
            para.append(lines[i])
            i += 1
        if len(para) == 1 and re.fullmatch(r"!\[[^\]]*\]\([^)\s]+\)", para[0].strip()):
            out.append(f"<figure>{_inline(para[0].strip(), images)}</figure>")
        else:
            out.append(f"<p>{_inline(' '.join(para), images)}</p>")
    return "\n".join(out)


# --------------------------------------------------------------------------- pictures


def _png(fig: Any, dpi: int = 100) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": "seedexp"})
    plt.close(fig)
    return buf.getvalue()


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def paired_figure(summary: Mapping[str, Any]) -> Any | None:
    """The paired comparisons seed by seed: per metric, one row per comparison A − B (a matplotlib Figure).

    Dots: the difference A − B on each shared seed; diamond: the mean difference
    with its interval from the summary's test; dashed: no difference. None when
    the summary has no comparison.
    """
    from .report import _labels

    comparisons = summary.get("comparisons") or []
    metrics = [m for m in summary["metrics"] if any(c["metric"] == m for c in comparisons)][:MAX_PAIRED_METRICS]
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    value = {(r["group"], r["seed"]): r["metrics"] for r in summary["runs"] if r["status"] == "ok"}
    label = _labels(summary)
    rows_of = {m: [c for c in comparisons if c["metric"] == m][:MAX_PAIRED_ROWS] for m in metrics}
    most = max(len(r) for r in rows_of.values())
    ncols = min(2, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(6.2 * ncols + 1.0, nrows * (1.3 + 0.5 * most) + 0.4))
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    jitter = np.random.Generator(np.random.PCG64(0))
    level = f"{100 * summary['options']['confidence']:g}%"
    for ax, metric in zip(axes.flat, metrics):
        rows = rows_of[metric]
        for i, c in enumerate(rows):
            seeds = sorted({s for (g, s) in value if g == c["a"]} & {s for (g, s) in value if g == c["b"]})
            diffs = [value[(c["a"], s)].get(metric) - value[(c["b"], s)].get(metric) for s in seeds
                     if _finite(value[(c["a"], s)].get(metric)) and _finite(value[(c["b"], s)].get(metric))]
            ax.scatter(diffs, i + jitter.uniform(-0.18, 0.18, len(diffs)), s=12, alpha=0.6, zorder=3)
            mean = c.get("mean_diff")
            if _finite(mean):
                color = "tab:red" if c.get("better") is not None else "black"
                if _finite(c.get("ci_low")) and _finite(c.get("ci_high")):
                    ax.errorbar(mean, i + 0.32, xerr=[[max(0.0, mean - c["ci_low"])], [max(0.0, c["ci_high"] - mean)]],
                                fmt="D", color=color, capsize=3, markersize=4, zorder=4)
                else:
                    ax.plot(mean, i + 0.32, "D", color=color, markersize=4, zorder=4)
        ax.axvline(0.0, color="grey", ls="--", lw=1)
        ax.set_yticks(range(len(rows)), [f"{_short(label.get(c['a'], c['a']))} − {_short(label.get(c['b'], c['b']))}\n"
                                         f"n={c['n_pairs']}" + (f", {label.get(c['better'], c['better'])} better"
                                                                if c.get("better") is not None else "")
                                         for c in rows], fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.6)
        arrow = "↑ higher" if summary["higher_is_better"].get(metric, True) else "↓ lower"
        ax.set_title(f"{metric}: A − B per seed ({arrow} is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fixed_n = " (fixed-n: not valid at a seed=auto stop)" if summary.get("stopping") else ""
    fig.suptitle(f"dots: the difference on each shared seed; ◆ mean difference with its {level} interval{fixed_n}; "
                 "red: a verdict after the correction", fontsize=8)
    with warnings.catch_warnings():  # labels too wide for the page (a tuning phase's groups): drawn as they fit
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig.tight_layout()
    return fig


def _short(name: str, most: int = 40) -> str:
    """A group's name cut for a tick label (the tables below name it in full)."""
    return name if len(name) <= most else name[:most - 1] + "…"


def pictures(summary: Mapping[str, Any], dest: Path) -> list[tuple[str, str, bytes]]:
    """The pictures of the page, as ``(title, caption, PNG bytes)``: those on disk in ``dest``, and the paired one.

    ``summary.png`` (the intervals per group), the paired differences per seed
    (drawn now), the benchmark pictures and, for a phase of a tuning study, the
    study's ``tuning.png``. The curve figures are placed in their own section.
    """
    from .report import plot_caption

    dest = Path(dest)
    out: list[tuple[str, str, bytes]] = []

    def add(title: str, caption: str, path: Path) -> None:
        if path.is_file():
            out.append((title, caption, path.read_bytes()))

    add("Intervals per group", plot_caption(summary), dest / "summary.png")
    fig = paired_figure(summary)
    if fig is not None:
        rows = len(summary["comparisons"])
        cut = any(sum(1 for c in summary["comparisons"] if c["metric"] == m) > MAX_PAIRED_ROWS
                  for m in summary["metrics"]) or len({c["metric"] for c in summary["comparisons"]}) > MAX_PAIRED_METRICS
        out.append(("Paired differences per seed",
                    f"Each comparison of the table below, seed by seed ({rows} in all"
                    + (f"; at most {MAX_PAIRED_ROWS} per metric and {MAX_PAIRED_METRICS} metrics drawn" if cut else "")
                    + ").", _png(fig)))
    if summary.get("benchmark"):
        from .report_benchmark import picture_names

        for metric in summary["benchmark"].get("metrics", {}):
            for name in picture_names(metric):
                add(f"Benchmark: {name}", "Across tasks: see the benchmark section below.", dest / name)
    study = Path(str(summary.get("sweep_dir", dest))).parent
    if (study / "tuning.json").is_file():
        add("The tuning study", f"{study / 'tuning.png'}: the trials of the search with their intervals, and the "
                                "finalists on the search seeds and on fresh seeds.", study / "tuning.png")
    return out


# --------------------------------------------------------------------------- the page


def _runs_table(summary: Mapping[str, Any]) -> str:
    from .report import _labels

    label = _labels(summary)
    metrics = list(summary["metrics"])
    head = "".join(f"<th{_NUM if h in ('seed', *metrics) else ''}>{html.escape(h)}</th>"
                   for h in ("group", "seed", "status", *metrics, "path"))
    rows = []
    for r in summary["runs"]:
        cells = [f"<td>{html.escape(label.get(r['group'], r['group']))}</td>", f"<td class=\"num\">{r['seed']}</td>",
                 f"<td class=\"status-{html.escape(r['status'])}\">{html.escape(r['status'])}</td>"]
        for m in metrics:
            v = r["metrics"].get(m)
            cells.append(f"<td class=\"num\">{'' if v is None else html.escape(f'{v:.6g}' if isinstance(v, float) else str(v))}</td>")
        cells.append(f"<td><code>{html.escape(r['path'] or '')}</code></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    counts = ", ".join(f"{summary.get(f'n_{s}', 0)} {s}" for s in ("ok", "failed", "crashed", "missing")
                       if summary.get(f"n_{s}"))
    table = (f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>\n<tbody>\n'
             + "\n".join(rows) + "\n</tbody></table></div>")
    words = (f"{summary['n_runs']} {'planned ' if summary.get('planned') else ''}runs: {counts or 'none'}. "
             "crashed: the process died (its record still says running); missing: planned, no record.")
    if len(rows) > RUNS_FOLDED_FROM:
        return f"<p>{html.escape(words)}</p><details><summary>Show all {len(rows)} runs</summary>{table}</details>"
    return f"<p>{html.escape(words)}</p>{table}"


def _analysis(summary: Mapping[str, Any]) -> str:
    opt = summary.get("options") or {}
    rows = "".join(f"<tr><td><code>report.{html.escape(str(k))}</code></td><td><code>{html.escape(_value(v))}</code></td></tr>"
                   for k, v in opt.items())
    methods = "".join(f"<dt>{html.escape(str(k).replace('_', ' '))}</dt><dd>{html.escape(str(v))}</dd>"
                      for k, v in (summary.get("methods") or {}).items())
    versions = ", ".join(f"{html.escape(str(k))} {html.escape(str(v))}" for k, v in (summary.get("versions") or {}).items())
    return (f"<p>The options this summary was computed with (the <code>report:</code> block of the config, or the "
            f"flags of <code>seedexp report</code>), every method in words, and the versions that computed them.</p>"
            f'<div class="scroll"><table><thead><tr><th>option</th><th>value</th></tr></thead><tbody>{rows}'
            f"</tbody></table></div><h3 id=\"methods\">Methods</h3><dl class=\"methods\">{methods}</dl>"
            f"<h3 id=\"versions\">Versions</h3><p>{versions}; schema <code>{html.escape(str(summary.get('schema')))}"
            "</code>.</p>")


def _value(v: Any) -> str:
    import json

    return "null" if v is None else json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else \
        str(v).lower() if isinstance(v, bool) else str(v)


def to_html(summary: Mapping[str, Any], markdown: str | None = None,
            figures: Sequence[tuple[str, str, bytes]] = (), images: Mapping[str, bytes] | None = None) -> str:
    """The page: ``markdown`` (default :func:`seedexp.report.to_markdown`) as HTML, with ``figures`` and more.

    Parameters
    ----------
    summary : mapping
        The summary (``summary.json``).
    markdown : str, optional
        Its ``summary.md`` text, when the caller has it already.
    figures : sequence of (title, caption, png bytes)
        The pictures shown in the "Pictures" section (:func:`pictures`).
    images : mapping, optional
        File name -> PNG bytes of the images the markdown names (the curve figures).

    Returns
    -------
    str
        One HTML document: no external resource, a Content-Security-Policy that forbids
        fetching any, and one inline script (sortable tables).

    Examples
    --------
    >>> from seedexp import summarize
    >>> records = [{"group": g, "seed": s, "status": "ok", "metrics": {"acc": 0.8 + 0.01 * s + (g == "b") * 0.05}}
    ...            for g in ("a", "b") for s in range(3)]
    >>> page = to_html(summarize(records).data)
    >>> page.startswith("<!DOCTYPE html>"), '<h2 id="runs">Every planned run</h2>' in page
    (True, True)
    """
    if markdown is None:
        from .report import to_markdown

        markdown = to_markdown(summary)
    toc: list[tuple[int, str, str]] = []
    taken = {"pictures", "runs", "analysis", "methods", "versions"}
    title, _, rest = markdown.partition("\n")
    title = title.lstrip("# ").strip() or "seedexp summary"
    # the counts, the verdict of seed=auto (when there is one), the method and the warnings come first,
    # then the pictures, then the tables
    chunks = re.split(r"\n(?=## )", rest)
    lead = 2 if len(chunks) > 1 and chunks[1].startswith("## Verdict of seed=auto") else 1
    head_toc: list[tuple[int, str, str]] = []
    head = markdown_to_html("\n".join(chunks[:lead]), images or {}, head_toc, taken)
    body = markdown_to_html("\n".join(chunks[lead:]), images or {}, toc, taken)
    pictures_toc = [(2, "pictures", "Pictures")] if figures else []
    tail_toc = [(2, "runs", "Every planned run"), (2, "analysis", "Declared analysis, methods and versions")]
    items = "".join(f'<li{_INDENT if level == 3 else ""}><a href="#{ident}">'
                    f"{html.escape(text)}</a></li>"
                    for level, ident, text in [*head_toc, *pictures_toc, *toc, *tail_toc])
    pics = ""
    if figures:
        pics = '<h2 id="pictures">Pictures</h2>' + "".join(
            f"<figure>{_img(t, png)}<figcaption><strong>{html.escape(t)}.</strong> {html.escape(c)}</figcaption>"
            "</figure>" for t, c, png in figures)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="seedexp {html.escape(str((summary.get("versions") or {}).get("seedexp", "")))}">',
        f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f'<header><h1 id="top">{html.escape(title)}</h1></header>',
        f'<nav class="toc" aria-label="contents"><strong>Contents</strong><ul>{items}</ul></nav>',
        "<main>", head, pics, body,
        '<h2 id="runs">Every planned run</h2>', _runs_table(summary),
        '<h2 id="analysis">Declared analysis, methods and versions</h2>', _analysis(summary),
        "</main>",
        "<footer>Written by seedexp from <code>summary.json</code> in the same directory; one file, nothing fetched "
        "(tables sort on a click on a column's head, with scripts on).</footer>",
        f"<script>{_SCRIPT}</script>", "</body>", "</html>", ""])


def write_html(summary: Mapping[str, Any], dest: Path, *, markdown: str | None = None, png: bool = True) -> Path:
    """Write ``summary.html`` in ``dest`` (atomically) and return its path.

    With ``png`` the pictures are embedded: those already written in ``dest``
    (call this after them) and the paired differences, drawn now.
    """
    from .report_curves import figure_name
    from .sweepdir import write_text_atomic

    dest = Path(dest)
    figures = pictures(summary, dest) if png else []
    images: dict[str, bytes] = {}
    if png:
        for metric in ((summary.get("curves") or {}).get("metrics") or {}):
            path = dest / figure_name(metric)
            if path.is_file():
                images[path.name] = path.read_bytes()
    path = dest / HTML_NAME
    write_text_atomic(path, to_html(summary, markdown, figures, images))
    return path


def refresh(sweep_dir: Path, png: bool = True) -> Path | None:
    """Re-render ``summary.html`` of a sweep whose seedexp ``summary.json`` exists; None when it has none."""
    from .sweepdir import load_summary

    summary, _ = load_summary(Path(sweep_dir))
    if summary is None:
        return None
    return write_html(summary, Path(sweep_dir), png=png)
