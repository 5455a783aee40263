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
from PIL import Image, ImageDraw

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


def test_two_digits_drawn_side_by_side_on_the_square_pad_are_read_as_a_number(server, chromium):
    one_and_seven = [[(0.25, 0.3), (0.25, 0.7)], [(0.5, 0.3), (0.8, 0.3), (0.6, 0.7)]]
    answer, detail = shown_for_strokes(server, chromium, one_and_seven, "serve-number-square.png")
    assert answer == "17"
    assert detail == "" or "sure of all 2 digits" in detail or detail.startswith("unsure: ")


# A number on the wide pad, as fractions of its width and height: 1, 7, 0 and 4, each with its strokes.
NUMBER_1704 = [
    [[(0.14, 0.25), (0.14, 0.75)]],
    [[(0.28, 0.26), (0.42, 0.26), (0.33, 0.76)]],
    [ellipse(0.57, 0.5, 0.06, 0.25)],
    [[(0.78, 0.24), (0.71, 0.58), (0.86, 0.58)], [(0.81, 0.38), (0.81, 0.78)]],
]


def test_a_number_written_on_the_wide_pad_is_read_with_a_box_over_each_digit(server, chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)
    square = page.page.locator("#pad").bounding_box()
    page.page.get_by_label("Number").check()
    wide = page.page.locator("#pad").bounding_box()
    assert wide["width"] > 1.9 * wide["height"] and wide["width"] > square["width"]
    assert page.page.locator("h1").text_content() == "Draw a number"
    asked = []
    page.page.on("request", lambda request: asked.append(request.url))

    for digit in NUMBER_1704:
        for points in digit:
            page.stroke(points)
    number, top_bar = page.shown_prediction()
    assert number == "1704"
    assert page.page.locator("#confidence").text_content()
    predicts = [url for url in asked if "/v1/predict" in url]
    assert predicts and all("mode=number" in url for url in predicts)  # the wide pad asks for a number

    # One box per digit, over the strokes of that digit, labelled with it.
    boxes = page.page.locator("#boxes .box")
    assert boxes.count() == 4
    for index, digit in enumerate(NUMBER_1704):
        box = boxes.nth(index).bounding_box()
        assert boxes.nth(index).get_attribute("data-digit") == "1704"[index]
        for x, y in (page.point(*point) for stroke in digit for point in stroke):
            assert box["x"] - 2 <= x <= box["x"] + box["width"] + 2, (index, x, box)
            assert box["y"] - 2 <= y <= box["y"] + box["height"] + 2, (index, y, box)
        assert wide["x"] <= box["x"] and box["x"] + box["width"] <= wide["x"] + wide["width"]

    # A tile per digit with what the model saw; the bars are the picked digit's, never empty.
    tiles = page.page.locator("#tiles .tile")
    assert tiles.count() == 4
    assert page.page.locator(".tile-digit").all_text_contents() == ["1", "7", "0", "4"]
    assert page.page.locator("#seen-figure").is_hidden()
    for index in range(4):
        seen = Image.open(io.BytesIO(tiles.nth(index).locator(".tile-seen").screenshot())).convert("L")
        assert np.asarray(seen).max() > 200, f"tile {index} shows what the model saw"
    assert top_bar == ["1"] and tiles.nth(0).get_attribute("aria-pressed") == "true"
    tiles.nth(2).click()
    assert page.page.locator("#bars li.top .label").all_text_contents() == ["0"]
    assert "digit 3 of 4" in page.page.locator("#bars-title").text_content()
    assert "selected" in boxes.nth(2).get_attribute("class")
    page.page.keyboard.press("ArrowRight")  # the arrow keys move between the digits
    assert page.page.locator("#bars li.top .label").all_text_contents() == ["4"]
    assert page.page.locator(".tile:focus").get_attribute("data-index") == "3"
    page.page.mouse.move(0, 0)  # no tile under the pointer in the screenshot
    page.screenshot("serve-number.png")

    # "Why?" lays each digit's map over its tile.
    page.page.click("#why-toggle")
    page.page.wait_for_selector("#tiles .tile-why[data-digit='4']:not([hidden])", timeout=15_000)
    assert [tile.get_attribute("data-digit") for tile in page.page.locator(".tile-why").all()] == list("1704")
    assert page.page.locator("#tiles-why-caption").is_visible()
    assert page.page.locator(".tile[aria-pressed='true']").get_attribute("data-index") == "3"  # the pick is kept
    page.screenshot("serve-number-why.png")
    page.page.click("#why-toggle")
    assert page.page.locator(".tile-why:visible").count() == 0

    # Back to the square pad: the drawing is kept, shrunk to fit, and still read.
    page.page.get_by_label("Digit", exact=True).check()
    number, _ = page.shown_prediction()
    assert page.page.locator("#pad").get_attribute("width") == "560"
    assert number == "1704"
    page.page.keyboard.press("Escape")
    assert page.page.locator("#boxes .box").count() == 0 and page.page.locator("#tiles .tile").count() == 0
    assert page.problems == []
    context.close()


def phone_page(server, chromium):
    """A page at a phone's size, and a function drawing a stroke on its pad with a finger."""
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = Page(context.new_page(), server)
    touch = context.new_cdp_session(page.page)

    def touch_stroke(points, steps=1):
        dense = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            dense += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
        for kind, point in [("touchStart", dense[0]), *[("touchMove", p) for p in dense[1:]]]:
            x, y = page.point(*point)
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    return context, page, touch_stroke


def test_page_fits_a_phone_and_draws_with_touch(server, chromium):
    context, page, touch_stroke = phone_page(server, chromium)
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


def test_the_why_switch_lays_the_map_over_what_the_model_saw(server, chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)
    page.stroke([(0.3, 0.22), (0.7, 0.22), (0.45, 0.8)])
    assert page.shown_prediction() == ("7", ["7"])
    assert page.page.locator("#why").is_hidden()

    page.page.click("#why-toggle")
    page.page.wait_for_selector("#why[data-digit='7']:not([hidden])", timeout=15_000)
    assert page.page.locator("#why-caption").is_visible()
    overlay = np.asarray(Image.open(io.BytesIO(page.page.locator(".seen-stack").screenshot())).convert("RGB"))
    red, green, blue = (overlay[..., channel].astype(int) for channel in range(3))
    assert ((red - green > 60) & (red - blue > 60)).mean() > 0.005, "part of the 7 is coloured red"
    page.screenshot("serve-why.png")

    page.stroke([(0.5, 0.4), (0.5, 0.6)])  # drawing on keeps the switch on: the new answer comes with its map
    page.shown_prediction()
    page.page.wait_for_selector("#why:not([hidden])")
    page.page.click("#why-toggle")
    assert page.page.locator("#why").is_hidden() and page.page.locator("#why-caption").is_hidden()
    assert page.problems == []
    context.close()


def test_a_number_written_with_a_finger_on_a_phone(server, chromium):
    context, page, touch_stroke = phone_page(server, chromium)
    page.page.get_by_label("Number").tap()
    page.page.wait_for_selector("input[name='mode'][value='number']:checked", timeout=5_000)
    pad = page.page.locator("#pad").bounding_box()
    assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 375 and pad["width"] > 1.9 * pad["height"]
    for digit in NUMBER_1704:
        for points in digit:
            touch_stroke(points, steps=4)
    assert page.shown_prediction()[0] == "1704"
    assert page.page.locator("#boxes .box").count() == 4
    # Every tile measured in one go in the page: an answer arriving meanwhile (the page may ask again
    # for the same drawing) replaces the tiles, and a tile located before it has no box after it.
    measure = "tiles => tiles.map(tile => { const r = tile.getBoundingClientRect(); return [r.x, r.width, r.height]; })"
    for _ in range(3):
        page.page.wait_for_selector("#tiles .tile", timeout=15_000)
        tiles = page.page.eval_on_selector_all("#tiles .tile", measure)
        if tiles:
            break
    assert tiles, "the number's digits are shown as tiles"
    for x, width, height in tiles:
        assert x >= 0 and x + width <= 375 and height >= 40
    # A tap's click is synthesised by the browser after tap() returns, and an answer arriving then
    # (the page may ask again for the same drawing) replaces the tiles under the finger, as a person
    # finds: tap again, at most three times, until the tile is picked.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    picked = "#tiles .tile[data-index='1'][aria-pressed='true']"
    for _ in range(3):
        page.page.locator("#tiles .tile").nth(1).tap()
        try:
            page.page.wait_for_selector(picked, timeout=3_000)
            break
        except PlaywrightTimeout:
            continue
    assert page.page.locator(picked).count() == 1
    assert page.page.locator("#bars li.top .label").all_text_contents() == ["7"]
    page.screenshot("serve-phone-number.png")
    assert page.problems == []
    context.close()


def fake_digit(digit: int, status: str, confidence: float, box: list[int], runner_up: int) -> dict:
    probabilities = [0.0] * 10
    probabilities[digit], probabilities[runner_up] = confidence, 1 - confidence
    image = np.zeros((28, 28), dtype=int)
    image[4:24, 12:16] = 255
    return {
        "status": status, "digit": digit, "confidence": confidence, "probabilities": probabilities,
        "digit_probability": 0.9, "image": image.tolist(), "box": box,
    }  # fmt: skip


def test_digits_in_doubt_are_boxed_and_told_apart(server, chromium):
    """The model's answers are faked here, to show each status: sure, unsure and not a digit."""
    digits = [
        fake_digit(1, "digit", 0.999, [100, 100, 250, 460], 7),
        fake_digit(4, "unsure", 0.55, [400, 80, 560, 460], 9),
        fake_digit(7, "not_a_digit", 0.6, [700, 120, 860, 440], 1),
    ]
    number = {
        "status": "unsure", "digit": None, "confidence": 0.2, "probabilities": None, "digit_probability": None,
        "image": None, "number": "147", "digits": digits, "file": "drawing.png",
    }  # fmt: skip
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)

    def fake_answer(route):  # the server still answers; its answer is replaced
        route.fulfill(response=route.fetch(), json={"model": "fake", "predictions": [number]})

    page.page.route("**/v1/predict*", fake_answer)
    page.page.get_by_label("Number").check()
    page.stroke([(0.5, 0.3), (0.5, 0.7)])
    assert page.shown_prediction() == ("147", ["4"])  # the bars start on the first digit in doubt
    assert page.page.locator("#confidence").text_content() == "unsure: the 2nd is 4 or 9, the 3rd is not a digit"
    boxes = page.page.locator("#boxes .box")
    assert [box.get_attribute("data-status") for box in boxes.all()] == ["digit", "unsure", "not_a_digit"]
    assert boxes.locator(".box-label").all_text_contents() == ["1", "4?", "✕"]
    frames = [box.evaluate("box => getComputedStyle(box, '::before').borderTopStyle") for box in boxes.all()]
    assert frames == ["solid", "dashed", "dashed"]
    colours = {box.evaluate("box => getComputedStyle(box, '::before').borderTopColor") for box in boxes.all()}
    assert len(colours) == 3
    pad = page.page.locator("#pad").bounding_box()
    for box, digit in zip(boxes.all(), digits):  # posted-image pixels (the 1120x560 pad) to page pixels
        left, top, right, bottom = digit["box"]
        shown = box.bounding_box()
        assert shown["x"] == pytest.approx(pad["x"] + left * pad["width"] / 1120, abs=1.5)
        assert shown["y"] == pytest.approx(pad["y"] + top * pad["height"] / 560, abs=1.5)
        assert shown["width"] == pytest.approx((right - left) * pad["width"] / 1120, abs=1.5)
        assert shown["height"] == pytest.approx((bottom - top) * pad["height"] / 560, abs=1.5)
    assert page.page.locator(".tile-confidence").all_text_contents() == ["99.9%", "55.0%", "60.0%"]
    assert page.page.locator(".tile-status").all_text_contents() == ["", "unsure", "not a digit"]
    labels = [tile.get_attribute("aria-label") for tile in page.page.locator(".tile").all()]
    assert labels == [
        "Digit 1 of 3: 1, 99.9% sure",
        "Digit 2 of 3: unsure: 4 or 9",
        "Digit 3 of 3: not a digit, looks most like 7",
    ]
    page.screenshot("serve-number-in-doubt.png")
    assert page.problems == []
    context.close()


def test_a_large_photo_of_a_number_gets_its_boxes_over_its_digits(server, chromium):
    """5200x2000 pixels: the server reads it halved, and the page shows it letterboxed on the wide pad."""
    photo = Image.new("L", (5200, 2000), 255)
    pen = ImageDraw.Draw(photo)
    for stroke in ([(1000, 400), (1800, 400), (1250, 1600)], [(3400, 400), (3400, 1600)]):  # a 7 and a 1
        pen.line(stroke, fill=0, width=130, joint="curve")
        for x, y in stroke:  # round ends, as a pen makes
            pen.ellipse([x - 65, y - 65, x + 65, y + 65], fill=0)
    ink = np.asarray(photo) < 128
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = Page(context.new_page(), server)
    page.page.get_by_label("Number").check()
    page.upload("seventy-one.png", png(photo))
    assert page.shown_prediction()[0] == "71"
    pad = page.page.locator("#pad").bounding_box()
    scale = min(pad["width"] / 5200, pad["height"] / 2000)
    top = pad["y"] + (pad["height"] - 2000 * scale) / 2
    for box, (start, stop) in zip(page.page.locator("#boxes .box").all(), [(0, 2600), (2600, 5200)]):
        rows, cols = np.nonzero(ink[:, start:stop])
        shown = box.bounding_box()
        assert shown["x"] == pytest.approx(pad["x"] + (start + cols.min()) * scale, abs=2)
        assert shown["y"] == pytest.approx(top + rows.min() * scale, abs=2)
        assert shown["x"] + shown["width"] == pytest.approx(pad["x"] + (start + cols.max() + 1) * scale, abs=2)
        assert shown["y"] + shown["height"] == pytest.approx(top + (rows.max() + 1) * scale, abs=2)
    page.screenshot("serve-number-photo.png")
    assert page.problems == []
    context.close()
