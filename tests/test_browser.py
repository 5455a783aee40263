"""The drawing page in a real browser: Debian's Chromium, driven by Playwright, against `mnist-cnn serve`.

Digits are drawn with mouse strokes (and, at phone size, with touch) and the prediction the page shows is
checked. Screenshots go to test-artifacts/. Needs /usr/bin/chromium (scripts/install-browser.sh) and the
playwright package; without them the test is skipped, except under CI, where it fails.
"""

import io
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from test_preprocessing import draw_seven
from test_serving import free_port, png

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"


def browser_or_skip():
    missing = [] if CHROMIUM.exists() else [f"{CHROMIUM} (run scripts/install-browser.sh)"]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = f"the browser test needs {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mnist-cnn serve` on a free loopback port, as a user would start it; stopped after the tests."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mnist_cnn.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"mnist-cnn serve exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mnist-cnn serve was not ready within 120 s:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log_lines = log_path.read_text().splitlines()
    assert any(" /v1/predict 200 " in line and line.endswith(" ms") for line in log_lines), log_lines[-20:]


@pytest.fixture(scope="module")
def chromium():
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A page on the server, watching for errors and for any request that leaves the server."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        self.problems = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.check_console)
        page.on("request", self.check_request)
        page.goto(base_url)
        page.wait_for_selector("#model-info >> text=/^Model /")

    def check_console(self, message):
        # A 4xx answer the page shows as a message (e.g. for a file that is not an image) is no problem.
        if message.type == "error" and "responded with a status of 4" not in message.text:
            self.problems.append(message.text)

    def check_request(self, request):
        if not request.url.startswith((self.base_url, "data:", "blob:")):
            self.problems.append(f"request to another site: {request.url}")

    def point(self, x: float, y: float) -> tuple[float, float]:
        """A point given as fractions of the drawing pad, in page pixels."""
        box = self.page.locator("#pad").bounding_box()
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    def stroke(self, points: list[tuple[float, float]]) -> None:
        mouse = self.page.mouse
        mouse.move(*self.point(*points[0]))
        mouse.down()
        for point in points[1:]:
            mouse.move(*self.point(*point), steps=3)
        mouse.up()

    def shown_prediction(self) -> tuple[str, list[str]]:
        """Wait until the page shows the prediction for what is on the pad now; return (digit, bar labels)."""
        version = self.page.locator("#pad").get_attribute("data-version")
        self.page.wait_for_selector(f"#result[data-version='{version}']:not([aria-busy])", timeout=15_000)
        digit = self.page.locator("#digit").text_content()
        return digit, self.page.locator("#bars li.top .label").all_text_contents()

    def upload(self, name: str, content: bytes) -> None:
        before = self.page.locator("#pad").get_attribute("data-version")
        self.page.set_input_files("#file", files=[{"name": name, "mimeType": "image/png", "buffer": content}])
        self.page.wait_for_selector(f"#pad:not([data-version='{before}'])")  # the file is read asynchronously

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(300)  # let the bars finish their transition
        self.page.screenshot(path=ARTIFACTS / name, full_page=True)


def ellipse(centre_x=0.5, centre_y=0.5, radius_x=0.2, radius_y=0.3, steps=40) -> list[tuple[float, float]]:
    return [
        (
            centre_x + radius_x * math.sin(2 * math.pi * step / steps),
            centre_y - radius_y * math.cos(2 * math.pi * step / steps),
        )
        for step in range(steps + 1)
    ]


def test_digits_drawn_with_the_mouse_are_recognised(server, chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)

    page.stroke([(0.5, 0.2), (0.5, 0.8)])
    assert page.shown_prediction() == ("1", ["1"])
    page.page.click("#clear")
    assert page.page.locator("#digit").text_content() == "?"

    page.stroke(ellipse())
    assert page.shown_prediction() == ("0", ["0"])
    page.page.locator("#clear").focus()
    page.page.keyboard.press("Enter")  # the buttons work from the keyboard
    assert page.page.locator("#undo").is_disabled()

    page.stroke([(0.7, 0.22), (0.45, 0.8)])
    assert page.shown_prediction() == ("1", ["1"])
    page.stroke([(0.3, 0.22), (0.7, 0.22)])
    assert page.shown_prediction() == ("7", ["7"])
    seen = Image.open(io.BytesIO(page.page.locator("#seen").screenshot())).convert("L")
    assert np.asarray(seen).max() > 200  # the 28x28 image the model saw is drawn, not left black
    page.screenshot("serve-desktop.png")
    page.page.keyboard.press("Control+z")  # undo the bar: the stem alone is a 1 again
    assert page.shown_prediction() == ("1", ["1"])

    page.upload("notes.png", b"not an image")
    assert page.shown_prediction() == ("?", [])
    assert page.page.locator("#message").text_content() == "notes.png: not an image Pillow can read."

    page.upload("seven.png", png(draw_seven()))
    assert page.shown_prediction() == ("7", ["7"])
    assert page.page.locator("#message").is_hidden()
    assert page.problems == []
    context.close()


def shown_for_strokes(server, chromium, strokes, screenshot: str) -> tuple[str, str]:
    """Draw ``strokes`` with the mouse on a desktop-sized page; return (the big answer, the line beside it)."""
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)
    for points in strokes:
        page.stroke(points)
    answer, _ = page.shown_prediction()
    detail = page.page.locator("#confidence").text_content()
    page.screenshot(screenshot)
    assert page.problems == []
    context.close()
    return answer, detail


def test_a_letter_drawn_on_the_page_is_shown_as_not_a_digit(server, chromium):
    letter_a = [[(0.3, 0.8), (0.5, 0.2), (0.7, 0.8)], [(0.38, 0.58), (0.62, 0.58)]]
    answer, detail = shown_for_strokes(server, chromium, letter_a, "serve-not-a-digit.png")
    assert answer == "Not a digit"
    assert detail.startswith("looks most like ")


def test_two_digits_drawn_side_by_side_are_read_as_a_number(server, chromium):
    one_and_seven = [[(0.25, 0.3), (0.25, 0.7)], [(0.5, 0.3), (0.8, 0.3), (0.6, 0.7)]]
    answer, detail = shown_for_strokes(server, chromium, one_and_seven, "serve-number.png")
    assert answer == "17"
    assert detail.startswith("digits 1 ")


def test_page_fits_a_phone_and_draws_with_touch(server, chromium):
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = Page(context.new_page(), server)
    touch = context.new_cdp_session(page.page)

    def touch_stroke(points):
        for kind, point in [("touchStart", points[0]), *[("touchMove", p) for p in points[1:]]]:
            x, y = page.point(*point)
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    touch_stroke([(0.5, 0.15 + 0.05 * step) for step in range(14)])
    assert page.shown_prediction() == ("1", ["1"])
    pad = page.page.locator("#pad").bounding_box()
    assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 375, "the pad must fit the phone's width"
    for button in ("#undo", "#clear", "#upload"):
        box = page.page.locator(button).bounding_box()
        assert box["x"] + box["width"] <= 375 and box["height"] >= 40, button
    page.screenshot("serve-phone.png")
    assert page.problems == []
    context.close()
