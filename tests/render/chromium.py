"""A real headless Chromium (Debian ``chromium``) driven over the DevTools protocol: open a file,
record console messages, exceptions and every network request, measure elements, screenshot.

Chromium listens on a loopback port it picks itself (``--remote-debugging-port=0``, the port
read back from ``DevToolsActivePort``) in a profile directory of its own; every request the
page makes is seen (``Network.requestWillBeSent``) and, through ``--proxy-server`` pointing at
a closed loopback port, none could leave the machine anyway.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(slots=True)
class PageRun:
    url: str
    console: list[str] = field(default_factory=list)      # errors and warnings, with their source
    requests: list[str] = field(default_factory=list)     # every URL the page asked for
    plots: list[dict] = field(default_factory=list)       # each svg.plot: id, width, height, shapes drawn
    screenshot: bytes = b""
    plot_shot: bytes = b""                                # the first plot alone, for a pixel check
    hidden_in_print: int = -1                             # collapsed parts still hidden on paper

    @property
    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if u != self.url]


class Browser:
    def __init__(self) -> None:
        assert CHROMIUM, "chromium is not installed (.ci/run installs Debian's chromium)"
        self.profile = tempfile.mkdtemp(prefix="minfree-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1000,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, path: Path, timeout: float = 30.0) -> PageRun:
        """Load ``path`` in a fresh tab and record what happens."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:   # loopback only
            target = json.load(answer)
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        run = PageRun(path.resolve().as_uri())
        ids = iter(range(1, 10**6))

        def call(method: str, **params) -> dict:
            ident = next(ids)
            ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads(ws.recv())
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})
                self._event(message, run)

        try:
            for domain in ("Page", "Network", "Runtime", "Log"):
                call(f"{domain}.enable")
            call("Page.navigate", url=run.url)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(ws.recv())
                self._event(message, run)
                if message.get("method") == "Page.loadEventFired":
                    break
            else:
                raise RuntimeError(f"{path} did not finish loading in {timeout} s")
            result = call("Runtime.evaluate", returnByValue=True, expression="""
                Array.from(document.querySelectorAll('svg.plot')).map(s => {
                  const b = s.getBoundingClientRect();
                  const shapes = Array.from(s.querySelectorAll('polyline,rect,path')).filter(e => {
                    const r = e.getBBox(); return r.width > 0 || r.height > 0; }).length;
                  return {id: s.getAttribute('aria-labelledby'), width: b.width, height: b.height, shapes: shapes,
                          x: b.left + window.scrollX, y: b.top + window.scrollY,
                          title: s.querySelector('title') ? s.querySelector('title').textContent : null,
                          desc: s.querySelector('desc') ? s.querySelector('desc').textContent : null};
                })""")
            run.plots = result["result"]["value"]
            call("Emulation.setEmulatedMedia", media="print")   # on paper, collapsed parts unfold
            hidden = call("Runtime.evaluate", returnByValue=True, expression="""
                Array.from(document.querySelectorAll('details:not([open]) > :not(summary)'))
                     .filter(e => !e.checkVisibility()).length""")
            run.hidden_in_print = hidden["result"]["value"]
            call("Emulation.setEmulatedMedia", media="")
            metrics = call("Page.getLayoutMetrics")["cssContentSize"]
            shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": metrics["width"], "height": min(metrics["height"], 6000),
                              "scale": 1})
            run.screenshot = base64.b64decode(shot["data"])
            if run.plots:
                first = run.plots[0]
                shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": first["x"], "y": first["y"], "width": first["width"],
                                  "height": first["height"], "scale": 1})
                run.plot_shot = base64.b64decode(shot["data"])
            time.sleep(0.2)   # late console messages
            ws.settimeout(0.2)
            try:
                while True:
                    self._event(json.loads(ws.recv()), run)
            except websocket.WebSocketTimeoutException:
                pass
        finally:
            ws.close()
        return run

    @staticmethod
    def _event(message: dict, run: PageRun) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            run.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            run.console.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            run.console.append(f"exception: {params.get('exceptionDetails')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            run.console.append(f"log {params['entry']['level']}: {params['entry'].get('text')} "
                               f"({params['entry'].get('url')})")


def png_variance(png: bytes) -> float:
    """The variance of the grey level of a PNG's pixels (8-bit RGB or RGBA, as Chromium writes)."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    previous = bytearray(stride)
    total = total_sq = count = 0
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        if y % 4 == 0:   # every fourth row is plenty for a variance
            for x in range(0, stride, bpp * 4):
                grey = (line[x] + line[x + 1] + line[x + 2]) / 3
                total += grey
                total_sq += grey * grey
                count += 1
    mean = total / count
    return total_sq / count - mean * mean


def save_shot(run: PageRun, name: str) -> Path:
    """Keep a screenshot under /tmp/report-shots/ (REPORT_SHOTS overrides) for a human to look at."""
    folder = Path(os.environ.get("REPORT_SHOTS", "/tmp/report-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.write_bytes(run.screenshot)
    return path
