"""The FastAPI application: the drawing page at ``/``, ``POST /v1/predict`` (``?explain=true`` adds each digit's
occlusion map), ``GET /v1/model``, ``GET /healthz``.

Every mistake a client can make gets a 4xx answer whose JSON body ``{"detail": "..."}`` says what was wrong
in a sentence. Image decoding and model calls run in worker threads, never on the event loop; model calls
from concurrent requests are batched into one (see ``batching.py``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio
import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from PIL import Image
from pydantic import BaseModel, Field
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from mnist_cnn import __version__, preprocessing, readers
from mnist_cnn.errors import ImageError
from mnist_cnn.explain import explain_predictions, explanation_json
from mnist_cnn.prediction import Prediction, Reading, classify_readings, read
from mnist_cnn.rejection import Rejector, load_rejector
from mnist_cnn.runtimes import Classifier, load_model
from mnist_cnn.serving.batching import BatchingClassifier

STATIC_DIR = Path(__file__).parent / "static"
DOCUMENTED_IMAGE_TYPES = ("image/png", "image/jpeg")  # any image/* type Pillow reads is accepted
ACCEPTED_TYPES = "multipart/form-data (a 'file' field), application/json ({\"pixels\": ...}) or image/*"
# The page loads nothing from elsewhere: this makes the browser refuse to, so a stray CDN link fails in tests.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
log = logging.getLogger("mnist_cnn.serving")


@dataclass(frozen=True)
class Settings:
    model: str | None = None  # a shipped model's name or a model file; None: the shipped default
    runtime: str | None = None  # None: the fastest runtime installed
    max_body_bytes: int = 5_000_000  # a phone photo as JPEG is 2-4 MB
    max_batch: int = 64  # images per request: a page or a program's batch; bulk scoring is `mnist-cnn evaluate`'s job
    # Decoded size per image: a server decodes untrusted images for many clients at once. A JPEG counts
    # at the reduced size its decoder produces (a 50-megapixel phone photo decodes at a quarter of its
    # side, 3 MP), so phone photos pass; a small PNG that inflates to a huge image does not.
    max_pixels: int = 25_000_000
    accept_all: bool = False  # rejection off: every answer's status is "digit"


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong, in a sentence")


class ExplanationBody(BaseModel):
    method: str = Field(description='"occlusion" (Zeiler & Fergus 2014; patch 7, stride 4 pixels)')
    digit: int = Field(ge=0, le=9, description="the digit explained: the predicted one")
    map: list[list[float]] = Field(
        description="28 rows of 28 contributions to that digit's probability, over the 28x28 image the model saw: "
        "positive where ink supports it, negative where ink speaks against it, 0 on pixels at 0"
    )


class DigitBody(BaseModel):
    status: str = Field(
        description='"digit"; "unsure": a digit, but the model is not confident which; "not_a_digit": '
        "the image does not look like a handwritten digit (the digit fields still say what it looks most like)"
    )
    digit: int = Field(ge=0, le=9, description="the most probable digit")
    confidence: float = Field(ge=0, le=1, description="its probability")
    probabilities: list[float] = Field(min_length=10, max_length=10, description="the probability of each digit 0-9")
    digit_probability: float | None = Field(
        description="the digit detector's probability that the image is a digit at all; null when rejection is off"
    )
    image: list[list[int]] = Field(description="the 28x28 image the model saw: rows of 0-255, light ink on dark")
    box: list[int] | None = Field(
        default=None, description="a number's digit: [left, top, right, bottom] in the uploaded image's pixels"
    )
    explanation: ExplanationBody | None = Field(default=None, description="with ?explain=true: which pixels mattered")


class PredictionBody(BaseModel):
    """One image's answer: one digit (the digit fields), or a number (``number`` and ``digits``)."""

    status: str = Field(description='as a digit\'s; for a number "digit" when every digit is one')
    digit: int | None = Field(ge=0, le=9, description="the most probable digit; null for a number")
    confidence: float = Field(ge=0, le=1, description="its probability; for a number, the product of its digits'")
    probabilities: list[float] | None = Field(description="the probability of each digit 0-9; null for a number")
    digit_probability: float | None = Field(
        description="the digit detector's probability that the image is a digit at all; null when rejection is off"
    )
    image: list[list[int]] | None = Field(description="the 28x28 image the model saw; null for a number")
    number: str | None = Field(default=None, description="a number's digits, left to right; absent for one digit")
    digits: list[DigitBody] | None = Field(default=None, description="a number's digits, left to right")
    explanation: ExplanationBody | None = Field(
        default=None, description="with ?explain=true, for one digit: which pixels mattered (a number: per digit)"
    )
    file: str | None = Field(description="the uploaded file's name (multipart uploads), else null")


class PredictResponse(BaseModel):
    model: str = Field(description="the model that answered")
    predictions: list[PredictionBody] = Field(description="one per image, in the order they were sent")


class InputSpec(BaseModel):
    shape: list[int] = Field(description="the model's input: one grayscale image of this many rows and columns")
    value_range: list[int] = Field(description="pixel values in JSON requests")
    polarity: str
    content_types: list[str]
    max_body_bytes: int
    max_batch: int = Field(description="images per request")
    max_pixels: int = Field(description="pixels per decoded image file")


class ModelInfo(BaseModel):
    name: str
    runtime: str
    dataset: str | None = Field(description="what it was trained on, from its metrics")
    test_accuracy: float | None = Field(description="accuracy on the 10,000 test images, from its model card")
    card: str | None = Field(description="where to read its model card, if it has one")
    input: InputSpec


class Health(BaseModel):
    status: str
    model: str


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


@dataclass
class ServedModel:
    """The loaded model and what ``/v1/model`` says about it."""

    classifier: BatchingClassifier
    info: dict
    card: str | None
    rejector: Rejector | None  # None: rejection is off
    detector: Rejector  # its piece judge checks the cuts between touching digits, rejection on or off


def serve_model(classifier: Classifier, settings: Settings) -> ServedModel:
    """Wrap a loaded model for concurrent requests, warm it up and read its metrics and card."""
    batching = BatchingClassifier(classifier)
    batching.warm_up()
    metrics_path, card_path = classifier.path.parent / "metrics.json", classifier.path.parent / "MODEL_CARD.md"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    card = card_path.read_text() if card_path.is_file() else None
    info = ModelInfo(
        name=classifier.name,
        runtime=classifier.runtime,
        dataset=metrics.get("dataset"),
        test_accuracy=metrics.get("test_accuracy"),
        card="/v1/model/card" if card else None,
        input=InputSpec(
            shape=[28, 28],
            value_range=[0, 255],
            polarity="light ink on a dark background, as in MNIST, for JSON pixels; image files may be either way",
            content_types=["multipart/form-data", "application/json", *DOCUMENTED_IMAGE_TYPES, "image/*"],
            max_body_bytes=settings.max_body_bytes,
            max_batch=settings.max_batch,
            max_pixels=settings.max_pixels,
        ),
    ).model_dump()
    rejector = load_rejector(classifier)
    for kind in readers.KINDS:  # the specialist readers, if the model has them: loaded now, not by a request
        readers.reader_for(batching, kind)
    return ServedModel(batching, info, card, None if settings.accept_all else rejector, rejector)


def load_served_model(settings: Settings) -> ServedModel:
    return serve_model(load_model(settings.model, settings.runtime), settings)


def create_app(settings: Settings | None = None, classifier: Classifier | None = None) -> FastAPI:
    """The application. Without ``classifier`` it loads ``settings.model`` at start-up (in a worker thread)."""
    settings = settings or Settings()
    decoding = threading.BoundedSemaphore(os.cpu_count() or 1)  # bounds the memory of images decoded at once

    def respond(prepare, sources, model: ServedModel, explain: bool, mode: str = "auto") -> bytes:
        """In a worker thread: decode and preprocess, then predict (batched with other requests)."""
        with decoding:
            readings, names = prepare(
                sources, settings, model.classifier.probabilities, model.detector.one_digit_probabilities, mode
            )
        return answer(model, readings, names, explain)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.model is None:
            app.state.model = await anyio.to_thread.run_sync(load_served_model, settings)
        classifier = app.state.model.classifier
        log.info("serving model %s (%s runtime) from %s", classifier.name, classifier.runtime, classifier.path)
        yield

    app = FastAPIOffline(
        title="mnist-cnn",
        version=__version__,
        description="Draw a digit at [/](/) or send images to `POST /v1/predict`.",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.model = serve_model(classifier, settings) if classifier is not None else None
    app.add_middleware(RequestLog)
    app.add_exception_handler(RequestValidationError, readable_validation_error)
    app.add_exception_handler(Exception, internal_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get(
        "/healthz",
        response_model=Health,
        summary="Ready once the model is loaded",
        responses={503: {"model": ErrorBody, "description": "the model is still loading"}},
    )
    async def healthz(request: Request) -> dict:
        return {"status": "ok", "model": served(request).classifier.name}

    @app.get("/v1/model", response_model=ModelInfo, summary="The model's name, accuracy, input and runtime")
    async def model_info(request: Request) -> dict:
        return served(request).info

    @app.get(
        "/v1/model/card",
        response_class=MarkdownResponse,
        summary="The model card (Markdown)",
        responses={404: {"model": ErrorBody, "description": "this model has no card"}},
    )
    async def model_card(request: Request) -> MarkdownResponse:
        card = served(request).card
        if card is None:
            raise HTTPException(404, "this model has no model card (only shipped models have one)")
        return MarkdownResponse(card)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        summary="Predict the digit in one or more images",
        description=PREDICT_DESCRIPTION,
        responses={
            413: {"model": ErrorBody, "description": "body, batch or image too large"},
            415: {"model": ErrorBody, "description": "a Content-Type the API does not take"},
            422: {"model": ErrorBody, "description": "not an image, malformed JSON or wrong shape"},
            503: {"model": ErrorBody, "description": "the model is still loading"},
        },
        openapi_extra={"requestBody": predict_body_schema(settings.max_batch)},
    )
    async def predict(
        request: Request,
        explain: bool = Query(
            False, description="also return each digit's occlusion map over the 28x28 image the model saw"
        ),
        mode: Literal["auto", "single", "number"] = Query(
            "auto",
            description="how an image file is read, as `mnist-cnn predict` reads it: `auto` (one digit, or a number "
            "when several digits are found), `single` (one digit, like --single), `number` (a number, like "
            "--number: touching digits are cut more readily). JSON pixels are always one digit each",
        ),
    ) -> Response:
        model = served(request)
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if not (is_json(media_type) or media_type == "multipart/form-data" or media_type.startswith("image/")):
            raise HTTPException(415, f"Content-Type {media_type or '(none)'!r} is not accepted; send {ACCEPTED_TYPES}")
        body = await read_body(request, settings.max_body_bytes)
        if media_type == "multipart/form-data":
            sources = await uploaded_files(request, body, settings.max_batch)
            prepare = prepare_files
        elif is_json(media_type):
            sources, prepare = body, prepare_pixels
        else:
            sources, prepare = [(None, body)], prepare_files
        content = await anyio.to_thread.run_sync(respond, prepare, sources, model, explain, mode)
        return Response(content, media_type="application/json")

    return app


def served(request: Request) -> ServedModel:
    model = request.app.state.model
    if model is None:
        raise HTTPException(503, "the model is still loading; try again in a few seconds", headers={"Retry-After": "5"})
    return model


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes.

    A declared Content-Length over the limit is refused before anything is read; a body sent in chunks
    is counted as it arrives, so a client that lies or streams never makes the server hold more than that.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {megabytes(int(declared))}; the limit is {megabytes(limit)}")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, f"the body is over the limit of {megabytes(limit)}")
    except ClientDisconnect:
        raise HTTPException(400, "the client closed the connection before sending the whole body") from None
    return bytes(body)


async def uploaded_files(request: Request, body: bytes, max_batch: int) -> list[tuple[str, bytes]]:
    """The (file name, bytes) of each 'file' part of a multipart body."""

    async def replay():
        yield body

    parser = MultiPartParser(request.headers, replay(), max_files=max_batch, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        if error.message.startswith("Too many files"):
            raise HTTPException(413, f"at most {max_batch} images per request; split the batch") from None
        raise HTTPException(422, f"the multipart body cannot be read: {error.message}") from None
    try:
        files = form.getlist("file")
        if not files:
            raise HTTPException(422, "the multipart body has no 'file' part; send the image as file=@digit.png")
        if any(isinstance(upload, str) for upload in files):
            raise HTTPException(422, "'file' must be an uploaded file (file=@digit.png), not a text field")
        return [(upload.filename or "file", await upload.read()) for upload in files]
    finally:
        await form.close()


def prepare_files(
    sources: list[tuple[str | None, bytes]], settings: Settings, classify, digit_probability=None, mode: str = "auto"
) -> tuple[list[Reading], list]:
    """Each image file read as ``mnist-cnn predict`` reads it (one digit, or a number; ``mode`` as
    ``prediction.read``'s); (readings, file names)."""
    prepared = []
    for name, data in sources:
        check_pixel_count(data, name or "the image", settings.max_pixels)
        try:
            prepared.append(read(data, mode, classify, digit_probability))
        except ImageError as error:
            message = str(error)
            raise HTTPException(422, f"{name}: {message.removeprefix('image: ')}" if name else message) from None
    return prepared, [name for name, _ in sources]


def check_pixel_count(data: bytes, name: str, limit: int) -> None:
    """Refuse (413) an image whose header declares more than ``limit`` pixels, before it is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            declared = image.size
            preprocessing.decoding.reduce_while_decoding(image)  # a JPEG's draft: no pixel decoded yet
            width, height = image.size
    except Image.DecompressionBombError:
        raise HTTPException(413, f"{name}: the image is too large to decode") from None
    except Exception:  # not an image at all: preprocessing says why, in its words
        return
    if width * height > limit:
        raise HTTPException(
            413, f"{name}: {declared[0]}x{declared[1]} is over this server's limit of {limit / 1_000_000:g} megapixels"
        )


def prepare_pixels(
    body: bytes, settings: Settings, classify=None, digit_probability=None, mode: str = "auto"
) -> tuple[list[Reading], list]:
    """A JSON body {"pixels": one 28x28 image or a list of them, 0-255} to MNIST-format images (one
    digit each, whatever ``mode``)."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at line {error.lineno} column {error.colno}"
        raise HTTPException(422, f"the body is not valid JSON: {reason}") from None
    except UnicodeDecodeError:
        raise HTTPException(422, "the body is not valid JSON: it is not UTF-8 text") from None
    except RecursionError:
        raise HTTPException(422, "the body is not valid JSON: it is nested too deeply") from None
    if not isinstance(payload, dict) or "pixels" not in payload:
        raise HTTPException(422, 'expected a JSON object {"pixels": [...]} holding a 28x28 image or a list of them')
    try:
        pixels = np.asarray(payload["pixels"])
    except (ValueError, RecursionError):
        raise HTTPException(422, "pixels: rows of different lengths; expected 28 rows of 28 numbers") from None
    if pixels.dtype.kind not in "iuf":
        raise HTTPException(422, "pixels must hold only numbers from 0 to 255")
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    if pixels.ndim != 3 or pixels.shape[1:] != (28, 28) or len(pixels) == 0:
        shape = "x".join(str(size) for size in np.shape(payload["pixels"])) or "a single number"
        raise HTTPException(422, f"pixels must be 28x28 (one image) or n x 28x28 (a batch); received {shape}")
    if len(pixels) > settings.max_batch:
        raise HTTPException(413, f"at most {settings.max_batch} images per request; received {len(pixels)}")
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise HTTPException(422, "pixel values must be numbers from 0 to 255")
    prepared = []
    for index, image in enumerate(pixels):
        try:
            prepared.append(Reading([preprocessing.prepare(image)]))
        except ImageError as error:
            where = f"pixels[{index}]: " if len(pixels) > 1 else "pixels: "
            raise HTTPException(422, where + str(error)) from None
    return prepared, [None] * len(pixels)


def answer(model: ServedModel, readings: list[Reading], names: list, explain: bool = False) -> bytes:
    """The JSON response body, encoded here so a large batch does not hold up the event loop either.
    ``explain``: add each digit's occlusion map (all of them computed in one batched call)."""
    predictions = classify_readings(model.classifier, readings, names, model.rejector)
    maps = explain_predictions(model.classifier, predictions) if explain else [None] * len(predictions)
    bodies = [
        digit_body(prediction, digit_maps and digit_maps[0]) | {"file": prediction.path}
        if isinstance(prediction, Prediction)
        else {
            "status": prediction.status,
            "digit": None,
            "confidence": prediction.confidence,
            "probabilities": None,
            "digit_probability": None,
            "image": None,
            "number": prediction.number,
            "digits": [
                digit_body(digit, digit_maps and digit_maps[index]) for index, digit in enumerate(prediction.digits)
            ],
            "file": prediction.path,
        }
        for prediction, digit_maps in zip(predictions, maps)
    ]
    return json.dumps({"model": model.classifier.name, "predictions": bodies}).encode()


def digit_body(prediction: Prediction, attribution: np.ndarray | None = None) -> dict:
    """One digit's fields, with the 28x28 image it was read from and, if given, its occlusion map."""
    body = {key: value for key, value in prediction.to_json().items() if key != "path"}
    body["image"] = prediction.image.tolist()
    if attribution is not None:
        body["explanation"] = explanation_json(attribution, prediction.digit, "occlusion")
    return body


async def readable_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 lists error objects; say them as one sentence, keeping the list for programs."""
    parts = []
    for item in error.errors():
        where = " ".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else item.get("msg", "invalid"))
    return JSONResponse({"detail": "; ".join(parts) or "invalid request", "errors": jsonable(error.errors())}, 422)


def jsonable(errors) -> list:
    return json.loads(json.dumps(errors, default=str))


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    """A bug, not the client's fault: still JSON. The server logs the traceback."""
    return JSONResponse({"detail": "the server failed to answer; its log has the details"}, 500)


class RequestLog:
    """ASGI middleware: one log line per request, ``METHOD /path STATUS 12.3 ms``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500

        async def send_and_note_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, (time.perf_counter() - start) * 1000)


PREDICT_DESCRIPTION = """\
Send one of:

- **an image file** as `multipart/form-data` in a field named `file` (repeat the field for a batch):
  `curl -F file=@digit.png http://127.0.0.1:8000/v1/predict`;
- **an image file as the body** with its own type: `curl --data-binary @digit.png -H 'Content-Type: image/png' ...`;
- **JSON pixels**: `{"pixels": [[0, 0, ...], ...]}`, 28 rows of 28 numbers 0-255, light ink on dark as in
  MNIST, or a list of such images for a batch.

Photos and drawings (PNG, JPEG, BMP, GIF, WebP, TIFF; dark ink on light paper or light on dark) go through
the same preprocessing as `mnist-cnn predict`. Each prediction returns the 28x28 image the model saw; with
`?explain=true`, also `explanation`: which of its pixels made the model answer that digit (an occlusion map,
28 rows of 28 contributions to its probability), per digit for a number.
"""


def predict_body_schema(max_batch: int) -> dict:
    row = {"type": "array", "minItems": 28, "maxItems": 28, "items": {"type": "number", "minimum": 0, "maximum": 255}}
    image = {"type": "array", "minItems": 28, "maxItems": 28, "items": row}
    binary = {"type": "string", "format": "binary"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {"file": binary}},
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["pixels"],
                    "properties": {
                        "pixels": {
                            "oneOf": [image, {"type": "array", "minItems": 1, "maxItems": max_batch, "items": image}],
                            "description": "one 28x28 image, or a list of them",
                        }
                    },
                },
            },
            **{media_type: {"schema": binary} for media_type in DOCUMENTED_IMAGE_TYPES},
        },
    }
