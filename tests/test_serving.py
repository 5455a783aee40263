"""The HTTP API through its ASGI app: good images, every kind of bad input, concurrency, the page's assets."""

import asyncio
import io
import json
import logging
import re
import socket
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

import mnist_cnn
from conftest import run_cli
from mnist_cnn.data import load_dataset
from mnist_cnn.serving.app import STATIC_DIR, Settings, create_app
from mnist_cnn.serving.batching import COMBINED_BATCH, BatchingClassifier
from test_preprocessing import draw_seven

LIMITS = Settings(max_body_bytes=1_000_000, max_batch=8, max_pixels=4_000_000)


@pytest.fixture(scope="module")
def classifier():
    return mnist_cnn.load_model("seed")


@pytest.fixture(scope="module")
def app(classifier):
    return create_app(LIMITS, classifier)


@pytest.fixture(scope="module")
def test_set(mnist_dir):
    return load_dataset("mnist", mnist_dir)


def client(app, raise_app_exceptions=True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def call(app, method: str, url: str, **kwargs) -> httpx.Response:
    async def request():
        async with client(app) as http:
            return await http.request(method, url, **kwargs)

    return asyncio.run(request())


def png(image: Image.Image | np.ndarray) -> bytes:
    image = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels in 60 bytes: what a decompression bomb looks like to a parser."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "Traceback" not in detail
    for fragment in fragments:
        assert fragment in detail, detail


# Good input


def test_json_pixels_of_real_test_digits_get_their_labels_back(app, test_set):
    digits, labels = test_set.test_images[:8], test_set.test_labels[:8]
    response = call(app, "POST", "/v1/predict", json={"pixels": digits.tolist()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "seed"
    assert [p["digit"] for p in body["predictions"]] == labels.tolist()
    first = body["predictions"][0]
    assert set(first) == {"status", "digit", "confidence", "probabilities", "digit_probability", "image", "file"}
    assert len(first["probabilities"]) == 10 and abs(sum(first["probabilities"]) - 1) < 1e-4
    assert abs(first["confidence"] - max(first["probabilities"])) < 1e-5
    assert np.array_equal(np.array(first["image"]), digits[0])  # MNIST-format pixels are what the model sees


def test_single_json_image_is_a_batch_of_one(app, test_set):
    response = call(app, "POST", "/v1/predict", json={"pixels": test_set.test_images[0].tolist()})
    assert response.status_code == 200
    assert [p["digit"] for p in response.json()["predictions"]] == [int(test_set.test_labels[0])]


def test_uploaded_drawing_and_photo_are_preprocessed_like_the_cli(app, classifier, test_set):
    photo = Image.fromarray(255 - test_set.test_images[1]).resize((300, 300), Image.Resampling.BICUBIC)
    files = [("file", ("seven.png", png(draw_seven()), "image/png")), ("file", ("photo.jpg", png(photo), "image/jpeg"))]
    response = call(app, "POST", "/v1/predict", files=files)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [(p["file"], p["digit"]) for p in predictions] == [
        ("seven.png", 7),
        ("photo.jpg", int(test_set.test_labels[1])),
    ]
    expected = mnist_cnn.predict(draw_seven(), model=classifier)[0]
    assert np.array_equal(np.array(predictions[0]["image"]), expected.image)


def test_an_image_can_be_the_whole_body(app):
    response = call(app, "POST", "/v1/predict", content=png(draw_seven()), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][0]["digit"] == 7


@pytest.mark.parametrize("runtime", mnist_cnn.runtimes.RUNTIMES)
def test_every_runtime_serves_the_same_answers(runtime, test_set):
    app = create_app(LIMITS, mnist_cnn.load_model("seed", runtime=runtime))
    response = call(app, "POST", "/v1/predict", json={"pixels": test_set.test_images[:8].tolist()})
    assert [p["digit"] for p in response.json()["predictions"]] == test_set.test_labels[:8].tolist()
    assert call(app, "GET", "/v1/model").json()["runtime"] == runtime


def test_model_info_reports_name_accuracy_input_and_runtime(app):
    info = call(app, "GET", "/v1/model").json()
    card = json.loads((mnist_cnn.runtimes.SHIPPED_DIR / "seed" / "metrics.json").read_text())
    assert info["name"] == "seed" and info["runtime"] in mnist_cnn.runtimes.RUNTIMES
    assert info["test_accuracy"] == card["test_accuracy"] and info["dataset"] == "mnist"
    assert info["input"]["shape"] == [28, 28] and info["input"]["max_batch"] == LIMITS.max_batch
    assert info["input"]["max_body_bytes"] == LIMITS.max_body_bytes
    card_text = call(app, "GET", info["card"])
    assert card_text.status_code == 200 and card_text.text.startswith("# Model card")


def test_healthz_is_ready_only_once_the_model_is_loaded():
    app = create_app(Settings(model="seed"))
    assert_error(call(app, "GET", "/healthz"), 503, "still loading")
    assert_error(call(app, "POST", "/v1/predict", json={"pixels": [[0] * 28] * 28}), 503, "still loading")

    async def start_then_ask():
        async with app.router.lifespan_context(app), client(app) as http:
            return await http.get("/healthz")

    response = asyncio.run(start_then_ask())
    assert response.status_code == 200 and response.json() == {"status": "ok", "model": "seed"}


def test_docs_and_openapi_schema_are_served(app):
    schema = call(app, "GET", "/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "image/png"} <= set(body)
    assert call(app, "GET", "/docs").status_code == 200


# Bad input: never a 500, always JSON with a sentence


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", None],
)
def test_wrong_content_type_is_415(app, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = call(app, "POST", "/v1/predict", content=b"7", headers=headers)
    assert_error(response, 415, "not accepted", "multipart/form-data", "application/json")


def test_body_over_the_limit_is_413_before_it_is_read(app):
    response = call(app, "POST", "/v1/predict", content=b"x" * 1_500_000, headers={"content-type": "image/png"})
    assert_error(response, 413, "1.5 MB", "limit is 1.0 MB")


def test_streamed_body_over_the_limit_is_413_without_content_length(app):
    async def chunks():
        for _ in range(40):
            yield b"x" * 64_000

    response = call(app, "POST", "/v1/predict", content=chunks(), headers={"content-type": "image/png"})
    assert_error(response, 413, "over the limit of 1.0 MB")


def test_a_client_that_leaves_mid_body_is_not_a_server_error(app):
    messages = [{"type": "http.request", "body": b"x" * 10, "more_body": True}, {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"image/png"), (b"content-length", b"1000")]
    scope = {"type": "http", "method": "POST", "path": "/v1/predict", "headers": headers, "query_string": b""}
    asyncio.run(app({**scope, "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http"}, receive, send))
    assert sent[0]["status"] == 400 and b"closed the connection" in sent[1]["body"]


def test_small_file_declaring_too_many_pixels_is_413(app):
    bomb = png(Image.new("L", (4000, 3000)))  # 12 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    response = call(app, "POST", "/v1/predict", files={"file": ("bomb.png", bomb, "image/png")})
    assert_error(response, 413, "bomb.png", "4000x3000", "4 megapixels")


def test_a_50_megapixel_phone_photo_is_read_at_its_reduced_size(classifier, test_set):
    photo = Image.new("L", (8160, 6120), 235)  # 50 MP; its JPEG decoder gives 2040x1530 (3 MP), under 25 MP
    photo.paste(Image.fromarray(255 - test_set.test_images[0]).resize((2400, 2400)), (2800, 1800))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=80)
    app = create_app(Settings(), classifier)  # the server's default limits
    response = call(app, "POST", "/v1/predict", files={"file": ("phone.jpg", buffer.getvalue(), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][0]["digit"] == test_set.test_labels[0]


def test_decompression_bomb_header_is_refused_before_decoding(app):
    response = call(
        app, "POST", "/v1/predict", content=png_header_only(200_000, 200_000), headers={"content-type": "image/png"}
    )
    assert_error(response, 413, "too large")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (b"{", ["not valid JSON", "line 1 column 2"]),
        (b"", ["not valid JSON"]),
        (b"\xff\xfe{}", ["not valid JSON"]),
        (b"[" * 100_000, ["not valid JSON"]),
        (b'{"pixel": []}', ['{"pixels": [...]}']),
        (b"[1, 2]", ['{"pixels": [...]}']),
        (b'{"pixels": 3}', ["28x28", "received a single number"]),
        (b'{"pixels": []}', ["28x28", "received 0"]),
        (json.dumps({"pixels": [[0] * 27] * 28}).encode(), ["28x28", "received 28x27"]),
        (json.dumps({"pixels": [[0] * 28] * 27 + [[0] * 20]}).encode(), ["rows of different lengths"]),
        (json.dumps({"pixels": [[[0] * 28] * 28, [[0] * 28] * 3]}).encode(), ["rows of different lengths"]),
        (json.dumps({"pixels": [["0"] * 28] * 28}).encode(), ["only numbers"]),
        (json.dumps({"pixels": [[True] * 28] * 28}).encode(), ["only numbers"]),
        (json.dumps({"pixels": [[None] * 28] * 28}).encode(), ["only numbers"]),
        (json.dumps({"pixels": [[300] * 28] * 28}).encode(), ["from 0 to 255"]),
        (json.dumps({"pixels": [[-1] * 28] * 28}).encode(), ["from 0 to 255"]),
        (b'{"pixels": [' + b",".join([b"[" + b",".join([b"NaN"] * 28) + b"]"] * 28) + b"]}", ["from 0 to 255"]),
        (json.dumps({"pixels": [[0] * 28] * 28}).encode(), ["pixels: no digit found", "blank"]),
        (json.dumps({"pixels": [[[9] * 28] * 28, [[0] * 28] * 28]}).encode(), ["pixels[1]: no digit found"]),
    ],
)
def test_malformed_json_or_wrong_shape_is_422(app, body, fragments):
    response = call(app, "POST", "/v1/predict", content=body, headers={"content-type": "application/json"})
    assert_error(response, 422, *fragments)


def test_json_batch_over_the_limit_is_413(app):
    response = call(app, "POST", "/v1/predict", json={"pixels": [[[0] * 28] * 28] * 9})
    assert_error(response, 413, "at most 8 images", "received 9")


def test_multipart_batch_over_the_limit_is_413(app):
    files = [("file", (f"{index}.png", png(draw_seven()), "image/png")) for index in range(9)]
    assert_error(call(app, "POST", "/v1/predict", files=files), 413, "at most 8 images")


@pytest.mark.parametrize(
    ("name", "data", "fragments"),
    [
        ("notes.png", b"hello, not an image", ["notes.png", "not an image Pillow can read"]),
        ("empty.png", b"", ["empty.png", "empty file"]),
        ("cut.png", png(draw_seven())[:300], ["cut.png", "truncated"]),
        ("blank.png", png(Image.new("L", (200, 200), 255)), ["blank.png", "blank"]),
    ],
)
def test_unreadable_or_blank_image_is_422_naming_the_file(app, name, data, fragments):
    response = call(app, "POST", "/v1/predict", files={"file": (name, data, "image/png")})
    assert_error(response, 422, *fragments)


def test_multipart_without_a_file_part_is_422(app):
    assert_error(call(app, "POST", "/v1/predict", files={"image": ("a.png", b"x")}), 422, "no 'file' part")
    assert_error(call(app, "POST", "/v1/predict", data={"file": "7"}, files={"x": ("a", b"")}), 422, "not a text field")
    response = call(app, "POST", "/v1/predict", content=b"--x--", headers={"content-type": "multipart/form-data"})
    assert_error(response, 422, "boundary")


def test_unknown_path_and_method_answer_in_json(app):
    assert_error(call(app, "GET", "/v2/predict"), 404, "Not Found")
    assert_error(call(app, "GET", "/v1/predict"), 405, "Method Not Allowed")


def test_fastapi_validation_errors_are_one_readable_sentence(classifier):
    app = create_app(LIMITS, classifier)

    @app.get("/probe")
    async def probe(count: int):
        return count

    response = call(app, "GET", "/probe", params={"count": "many"})
    assert_error(response, 422, "query count:", "integer")
    assert isinstance(response.json()["errors"], list)


def test_a_failing_model_is_a_json_500_not_a_traceback(classifier):
    class Broken:
        name, runtime, path = classifier.name, classifier.runtime, classifier.path
        calls = 0

        def probabilities(self, images):
            self.calls += 1
            if self.calls > 1:  # the warm-up at start succeeds
                raise RuntimeError("out of memory")
            return classifier.probabilities(images)

    async def ask():
        async with client(create_app(LIMITS, Broken()), raise_app_exceptions=False) as http:
            return await http.post("/v1/predict", json={"pixels": [[9] * 28] * 28})

    assert_error(asyncio.run(ask()), 500, "failed to answer")


# Concurrency


def test_many_concurrent_requests_each_get_their_own_answer(classifier, test_set):
    calls = []

    class Recording:
        name, runtime, path = classifier.name, classifier.runtime, classifier.path

        def probabilities(self, images):
            calls.append(len(images))
            return classifier.probabilities(images)

    app = create_app(LIMITS, Recording())
    digits = test_set.test_images[:96]
    expected = classifier.probabilities(digits).argmax(axis=1)

    async def ask_all():
        async with client(app) as http:
            requests = [http.post("/v1/predict", json={"pixels": digit.tolist()}) for digit in digits[:64]]
            requests += [
                http.post("/v1/predict", files={"file": (f"{index}.png", png(255 - digit), "image/png")})
                for index, digit in enumerate(digits[64:])
            ]
            return await asyncio.gather(*requests)

    responses = asyncio.run(ask_all())
    assert all(response.status_code == 200 for response in responses)
    answers = [response.json()["predictions"][0]["digit"] for response in responses]
    assert answers[:64] == expected[:64].tolist()  # identical pixels: identical answers, whatever the batching
    assert np.mean(np.array(answers[64:]) == test_set.test_labels[64:96]) >= 0.9  # re-preprocessed PNGs
    assert max(calls) > 1, "concurrent requests should have shared model calls"
    assert max(calls) <= COMBINED_BATCH


def test_inference_never_blocks_the_event_loop(classifier):
    class Slow:
        name, runtime, path = classifier.name, classifier.runtime, classifier.path

        def probabilities(self, images):
            time.sleep(0.5)
            return np.full((len(images), 10), 0.1, dtype=np.float32)

    app = create_app(LIMITS, Slow())

    async def health_during_prediction():
        async with client(app) as http:
            prediction = asyncio.create_task(http.post("/v1/predict", json={"pixels": [[9] * 28] * 28}))
            await asyncio.sleep(0.1)
            start = time.perf_counter()
            health = await http.get("/healthz")
            return health, time.perf_counter() - start, await prediction

    health, seconds, prediction = asyncio.run(health_during_prediction())
    assert health.status_code == 200 and prediction.status_code == 200
    assert seconds < 0.2, f"/healthz waited {seconds:.2f} s for a model call"


def test_batching_classifier_gives_every_thread_its_own_rows(classifier, test_set):
    batching = BatchingClassifier(classifier)
    digits = test_set.test_images[:150]
    expected = classifier.probabilities(digits)
    results = [None] * len(digits)

    def ask(index):
        results[index] = batching.probabilities(digits[index : index + 1])

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(digits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.allclose(np.concatenate(results), expected, atol=1e-5)


def test_each_request_is_logged_on_one_line(app, caplog):
    with caplog.at_level(logging.INFO, logger="mnist_cnn.serving"):
        call(app, "GET", "/healthz")
        call(app, "POST", "/v1/predict", content=b"x", headers={"content-type": "text/plain"})
    lines = [record.getMessage() for record in caplog.records if record.name == "mnist_cnn.serving"]
    assert len(lines) == 2
    assert re.fullmatch(r"GET /healthz 200 \d+\.\d ms", lines[0]) and re.fullmatch(
        r"POST /v1/predict 415 \d+\.\d ms", lines[1]
    )


# The page


def test_page_and_its_assets_come_from_the_app_alone(app):
    page = call(app, "GET", "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/app.js" in assets and "/static/style.css" in assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert call(app, "GET", asset).status_code == 200, asset
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        assert not re.search(r"https?://", text), f"{path.name} refers to another site"
    docs = call(app, "GET", "/docs").text
    for asset in re.findall(r'(?:src|href)="([^"]+)"', docs):
        assert asset.startswith("/") and call(app, "GET", asset).status_code == 200, asset


# The command


def test_serve_help_states_every_default():
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option, default in [
        ("--host", "127.0.0.1"),
        ("--port", "8000"),
        ("--workers", "1"),
        ("--max-body-mb", "5"),
        ("--max-batch", "64"),
    ]:
        assert re.search(rf"{option} \S+ .*?\(default: {re.escape(default)}\)", text), option
    assert "--model" in text and "--runtime" in text


def test_serve_with_a_missing_model_is_one_line(tmp_path):
    result = run_cli("serve", "--model", str(tmp_path / "gone.keras"), "--port", str(free_port()))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "gone.keras: no such model file" in result.stderr


def test_serve_on_a_taken_port_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "cannot listen on 127.0.0.1:" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_with_two_workers_answers_on_every_connection_and_stops_cleanly(test_set):
    import signal
    import subprocess
    import sys

    port = free_port()
    command = [sys.executable, "-m", "mnist_cnn.cli", "serve", "--port", str(port), "--workers", "2", "--model", "seed"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2  # (spawn also starts a resource tracker, which ends on its own)

        def ask(index: int) -> int:
            with httpx.Client() as client:  # a connection of its own
                response = client.post(f"{base}/v1/predict", json={"pixels": test_set.test_images[index].tolist()})
                return response.json()["predictions"][0]["digit"]

        with ThreadPoolExecutor(16) as pool:
            digits = list(pool.map(ask, range(64)))
        assert digits == test_set.test_labels[:64].tolist()
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()


# Explanations


def test_explain_true_returns_each_digits_occlusion_map(app, test_set):
    digits = test_set.test_images[:2]
    response = call(app, "POST", "/v1/predict?explain=true", json={"pixels": digits.tolist()})
    assert response.status_code == 200, response.text
    for prediction, digit in zip(response.json()["predictions"], digits):
        explanation = prediction["explanation"]
        assert explanation["method"] == "occlusion" and explanation["digit"] == prediction["digit"]
        attribution = np.array(explanation["map"])
        assert attribution.shape == (28, 28) and attribution.max() > 0
        assert not attribution[digit == 0].any()  # blank pixels: nothing to take away
    plain = call(app, "POST", "/v1/predict", json={"pixels": digits.tolist()}).json()["predictions"][0]
    assert "explanation" not in plain


def test_explain_true_gives_a_number_one_map_per_digit(app, test_set):
    canvas = np.zeros((28, 70), dtype=np.uint8)
    canvas[:, :28], canvas[:, 40:68] = test_set.test_images[0], test_set.test_images[1]
    response = call(
        app, "POST", "/v1/predict?explain=true", files={"file": ("two.png", png(255 - canvas), "image/png")}
    )
    assert response.status_code == 200, response.text
    (prediction,) = response.json()["predictions"]
    assert len(prediction["number"]) == 2
    assert [np.array(digit["explanation"]["map"]).shape for digit in prediction["digits"]] == [(28, 28)] * 2


def test_a_bad_explain_value_is_a_readable_422(app):
    response = call(app, "POST", "/v1/predict?explain=maybe", json={"pixels": [[9] * 28] * 28})
    assert_error(response, 422, "query explain:", "boolean")


def test_mode_single_reads_two_digits_as_one_and_number_keeps_them_apart(app, test_set):
    canvas = np.zeros((28, 70), dtype=np.uint8)
    canvas[:, :28], canvas[:, 40:68] = test_set.test_images[0], test_set.test_images[1]
    image = {"file": ("two.png", png(255 - canvas), "image/png")}
    single = call(app, "POST", "/v1/predict?mode=single", files=image).json()["predictions"][0]
    assert "number" not in single and len(single["image"]) == 28
    number = call(app, "POST", "/v1/predict?mode=number", files=image).json()["predictions"][0]
    expected = "".join(str(label) for label in test_set.test_labels[:2])
    assert number["number"] == expected and len(number["digits"]) == 2


def test_a_bad_mode_is_a_readable_422(app):
    response = call(app, "POST", "/v1/predict?mode=letters", json={"pixels": [[9] * 28] * 28})
    assert_error(response, 422, "query mode:", "auto")
