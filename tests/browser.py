"""Headless Chromium for the tests of ``summary.html`` and the picture of it in the docs.

Debian's ``chromium`` (``/usr/bin/chromium``) is installed with apt-get when it
is missing and this process is root (as ``scripts/slurm_cluster.py`` installs
SLURM); otherwise :func:`chromium` raises :class:`BrowserUnavailable` with a
one-line reason, and the test skips with it.

:func:`render` starts ONE browser (``--headless --no-sandbox --disable-gpu
--disable-background-networking --disable-component-update --no-first-run``,
a fresh ``--user-data-dir``), drives it over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4, no port, no websocket
library), loads the page, collects every console message, uncaught exception
and log entry (a blocked request, a refused Content-Security-Policy, a broken
image), measures what the page shows, clicks a sortable column, and takes a
full-page screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PACKAGE = "chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
         "--remote-debugging-pipe")

#: What the page shows, measured in the page: tables, rows, images (loaded and drawn), sections.
_MEASURE = """(() => {
  const imgs = Array.from(document.images);
  return JSON.stringify({
    title: document.title,
    tables: document.querySelectorAll("table").length,
    rows: document.querySelectorAll("tbody tr").length,
    sortable: document.querySelectorAll("table.sortable").length,
    headings: Array.from(document.querySelectorAll("h2")).map(h => h.textContent),
    images: imgs.map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
                            shown: i.getBoundingClientRect().width})),
    statuses: Array.from(document.querySelectorAll("#runs ~ div td[class^=status-], #runs ~ details td[class^=status-]"))
                  .map(td => td.textContent),
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
  });
})()"""

#: Click the head of the first sortable table's column ``col`` twice; return the column's texts after each click.
_SORT = """(() => {
  const table = document.querySelector("table.sortable");
  if (!table) return JSON.stringify(null);
  const col = %d, th = table.tHead.rows[0].cells[col];
  const texts = () => Array.from(table.tBodies[0].rows).map(r => r.cells[col].textContent);
  const before = texts(); th.click(); const up = texts(); const upSort = th.getAttribute("aria-sort");
  th.click(); const down = texts();
  return JSON.stringify({before, up, down, upSort, downSort: th.getAttribute("aria-sort")});
})()"""


class BrowserUnavailable(RuntimeError):
    """No Chromium, and it cannot be installed here; the message is one line."""


def chromium(install: bool = True) -> str:
    """The path of Debian's Chromium, apt-get installing it first when missing and root."""
    found = shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium")
    if found:
        return found
    if not install:
        raise BrowserUnavailable("chromium not found (apt-get install chromium)")
    if os.geteuid() != 0:
        raise BrowserUnavailable("chromium not found and not root: cannot apt-get install chromium")
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable("chromium not found and no apt-get: install Chromium with this system's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"],
                ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends",
                 PACKAGE]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise BrowserUnavailable(f"`apt-get {cmd[-2] if 'install' in cmd else 'update'}` failed "
                                     f"(rc={proc.returncode}): {tail}")
    found = shutil.which("chromium")
    if not found:
        raise BrowserUnavailable("apt-get installed chromium but there is no chromium on PATH")
    return found


class _Pipe:
    """The DevTools protocol over Chromium's pipe: JSON messages ended by a NUL byte."""

    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise ConnectionError(f"Chromium closed its pipe (exit code {self.proc.poll()})")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)


def problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors and warnings, uncaught exceptions and error/warning log entries, one line each."""
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                          for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            out.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            entry = p["entry"]
            out.append(f"log {entry['level']} ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
    return out


def render(page: Path, screenshot: Path | None = None, *, width: int = 1280, sort_column: int = 2,
           timeout: float = 120.0) -> dict[str, Any]:
    """Load ``page`` in one headless Chromium; return what it showed, and write a full-page screenshot.

    Returns a dict: ``measure`` (title, tables, rows, images with their natural
    and shown sizes, ``h2`` headings, the statuses of the runs table, page
    size), ``sort`` (a sortable column's texts before and after two clicks),
    ``problems`` (:func:`problems`) and ``version`` (the browser's).
    """
    browser = chromium()
    page = Path(page).resolve()
    with tempfile.TemporaryDirectory(prefix="seedexp_chromium_") as profile:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def child_fds() -> None:  # the pipe on fds 3 (commands in) and 4 (answers out), as Chromium expects
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        proc = subprocess.Popen([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900",
                                 "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=child_fds,
                                start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        cdp = _Pipe(proc, to_child_w, from_child_r)
        try:
            version = cdp.call("Browser.getVersion", timeout=timeout)["product"]
            target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(f"{domain}.enable", session=session)
            cdp.call("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
            cdp.events.clear()  # what about:blank said is not the page's
            cdp.call("Page.navigate", {"url": page.as_uri()}, session=session)
            cdp.wait_for("Page.loadEventFired", timeout=timeout)

            def evaluate(expression: str) -> Any:
                result = cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                  session=session)
                if "exceptionDetails" in result:
                    raise RuntimeError(f"evaluating in the page failed: {result['exceptionDetails']}")
                return json.loads(result["result"]["value"])

            measure = evaluate(_MEASURE)
            if screenshot is not None:
                shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                           "clip": {"x": 0, "y": 0, "width": width,
                                                                    "height": min(measure["height"], 16000),
                                                                    "scale": 1}}, session=session, timeout=timeout)
                Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            sort = evaluate(_SORT % sort_column)
            found = problems(cdp.events)
            try:
                cdp.call("Browser.close", timeout=10)
            except (ConnectionError, TimeoutError, RuntimeError):
                pass
        finally:
            os.close(to_child_w)
            os.close(from_child_r)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
    return {"measure": measure, "sort": sort, "problems": found, "version": version}


def screenshot_stats(png: Path) -> dict[str, float]:
    """Size, share of pixels that are not white, and distinct colours of a screenshot (is it blank?)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB"))
    pixels = rgb[::4, ::4].reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    inked = float((pixels.min(axis=1) < 235).mean())
    return {"width": rgb.shape[1], "height": rgb.shape[0], "inked": inked, "colours": colours}
