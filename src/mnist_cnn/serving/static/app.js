// The drawing page: strokes on a canvas -> PNG -> POST /v1/predict -> digit, bars and the 28x28 image seen,
// and with "Why?" on (?explain=true) the occlusion map drawn over that image. A number (several digits)
// comes back digit by digit with boxes: drawn over the pad, and one tile per digit to pick its bars.
"use strict";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const PAD_HEIGHT = pad.height;
// "Number" keeps the height, so the pen and the drawing's resolution are the same; it is twice as wide.
const PAD_WIDTHS = { digit: PAD_HEIGHT, number: 2 * PAD_HEIGHT };
// MNIST strokes are about 1/8 of a digit's height; a digit drawn over two thirds of the pad gets the same.
const STROKE_WIDTH = PAD_HEIGHT / 12;
const INK = "#fff";
const PAPER = "#000";
const LIVE_INTERVAL_MS = 250; // while a stroke goes on, ask at most this often
const SETTLE_MS = 40; // after a stroke ends, ask almost at once
const MODE_KEY = "mnist-cnn.pad";

const main = document.getElementById("main");
const title = document.getElementById("title");
const modeInputs = [...document.querySelectorAll('input[name="mode"]')];
const boxLayer = document.getElementById("boxes");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const uploadButton = document.getElementById("upload");
const fileInput = document.getElementById("file");
const result = document.getElementById("result");
const digitOutput = document.getElementById("digit");
const confidenceText = document.getElementById("confidence");
const message = document.getElementById("message");
const numberDigits = document.getElementById("number-digits");
const tiles = document.getElementById("tiles");
const tilesWhyCaption = document.getElementById("tiles-why-caption");
const barsTitle = document.getElementById("bars-title");
const bars = document.getElementById("bars");
const seenFigure = document.getElementById("seen-figure");
const seen = document.getElementById("seen").getContext("2d");
const whyCanvas = document.getElementById("why");
const whyToggle = document.getElementById("why-toggle");
const whyCaption = document.getElementById("why-caption");
const modelInfo = document.getElementById("model-info");

let mode = "digit"; // the pad's shape: "digit" (square) or "number" (twice as wide)
let strokes = []; // each stroke is a list of [x, y] points in canvas pixels
let activeStroke = null; // {pointerId, points} while a pointer is down
let photo = null; // {file, bitmap} after an upload; drawing again replaces it
let version = 0; // counts changes to what is on the pad; a prediction shows the version it was made for
let timer = null;
let requestInFlight = false;
let askAgain = false;
let maxBodyBytes = 5_000_000;
let shownNumber = null; // the number on display (a prediction with digits), to pick its digits
let selected = 0; // which of its digits the bars are for
let picked = false; // whether the user picked it (kept while the number keeps its count of digits)

function isEmpty() {
  return strokes.length === 0 && photo === null;
}

// Drawing

function paint() {
  context.fillStyle = PAPER;
  context.fillRect(0, 0, pad.width, pad.height);
  if (photo && photo.bitmap) {
    const place = photoPlacement();
    context.drawImage(photo.bitmap, place.left, place.top, place.width, place.height);
  }
  for (const points of strokes) {
    drawStroke(points);
  }
}

function photoPlacement() {
  // The photo fills the pad as far as it can without being cut or stretched, centred.
  const scale = Math.min(pad.width / photo.bitmap.width, pad.height / photo.bitmap.height);
  const width = photo.bitmap.width * scale;
  const height = photo.bitmap.height * scale;
  return { left: (pad.width - width) / 2, top: (pad.height - height) / 2, width, height, scale };
}

function drawStroke(points) {
  context.strokeStyle = INK;
  context.fillStyle = INK;
  context.lineWidth = STROKE_WIDTH;
  context.lineCap = "round";
  context.lineJoin = "round";
  if (points.length === 1) {
    context.beginPath();
    context.arc(points[0][0], points[0][1], STROKE_WIDTH / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.beginPath();
  context.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) {
    context.lineTo(x, y);
  }
  context.stroke();
}

function canvasPoint(event) {
  const box = pad.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

pad.addEventListener("pointerdown", (event) => {
  if (activeStroke || (event.pointerType === "mouse" && event.button !== 0)) {
    return;
  }
  event.preventDefault();
  if (photo) {
    photo = null;
    paint();
  }
  pad.setPointerCapture(event.pointerId);
  activeStroke = { pointerId: event.pointerId, points: [canvasPoint(event)] };
  strokes.push(activeStroke.points);
  drawStroke(activeStroke.points);
  changed(LIVE_INTERVAL_MS, false);
});

pad.addEventListener("pointermove", (event) => {
  if (!activeStroke || event.pointerId !== activeStroke.pointerId) {
    return;
  }
  // Coalesced events carry every position the pointer passed since the last frame: smooth fast strokes.
  const events = (event.getCoalescedEvents && event.getCoalescedEvents()) || [];
  const points = activeStroke.points;
  for (const each of events.length ? events : [event]) {
    points.push(canvasPoint(each));
  }
  drawStroke(points.slice(-1 - (events.length || 1)));
  changed(LIVE_INTERVAL_MS, false);
});

function endStroke(event) {
  if (!activeStroke || event.pointerId !== activeStroke.pointerId) {
    return;
  }
  activeStroke = null;
  changed(SETTLE_MS, true);
}

pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
pad.addEventListener("lostpointercapture", endStroke);

// The pad's shape

function setMode(next, remember = true) {
  if (!(next in PAD_WIDTHS)) {
    return;
  }
  activeStroke = null;
  mode = next;
  main.dataset.mode = mode;
  for (const input of modeInputs) {
    input.checked = input.value === mode;
  }
  title.textContent = mode === "number" ? "Draw a number" : "Draw a digit";
  pad.setAttribute(
    "aria-label",
    mode === "number"
      ? "Drawing area: write a number here, its digits side by side, or drop a photo of one"
      : "Drawing area: draw one digit here, or drop a photo of one",
  );
  if (pad.width !== PAD_WIDTHS[mode]) {
    pad.width = PAD_WIDTHS[mode];
    fitStrokes();
    clearBoxes(); // they were placed on the old pad; the answer for the new one follows at once
    paint();
    changed(0, true);
  }
  if (remember) {
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch {
      // Storage may be off (private windows): the page then starts with a square pad.
    }
  }
}

function fitStrokes() {
  // Keep the drawing on the new pad: as it is when it fits (square to wide always does), else shrunk
  // and centred. Undo keeps working on the strokes.
  const points = strokes.flat();
  if (points.length === 0 || points.every(([x]) => x <= pad.width)) {
    return;
  }
  const margin = STROKE_WIDTH;
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [left, right, top, bottom] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min(
    1,
    (pad.width - 2 * margin) / Math.max(right - left, 1),
    (pad.height - 2 * margin) / Math.max(bottom - top, 1),
  );
  const [fromX, fromY, toX, toY] = [(left + right) / 2, (top + bottom) / 2, pad.width / 2, pad.height / 2];
  strokes = strokes.map((stroke) => stroke.map(([x, y]) => [toX + (x - fromX) * scale, toY + (y - fromY) * scale]));
}

for (const input of modeInputs) {
  input.addEventListener("change", () => {
    if (input.checked) {
      setMode(input.value);
    }
  });
}

// Buttons and keys

function undo() {
  if (activeStroke) {
    return;
  }
  if (photo) {
    photo = null;
  } else {
    strokes.pop();
  }
  paint();
  changed(SETTLE_MS, true);
}

function clear() {
  if (activeStroke) {
    return;
  }
  strokes = [];
  photo = null;
  paint();
  changed(0, true);
}

whyToggle.addEventListener("change", () => {
  if (!whyToggle.checked) {
    showWhy(null);
    for (const tile of tiles.querySelectorAll(".tile-why")) {
      tile.hidden = true;
    }
    tilesWhyCaption.hidden = true;
  } else if (!isEmpty()) {
    predict(); // ask again, this time for the maps too
  }
});

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clear);
uploadButton.addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  if (fileInput.files.length) {
    usePhoto(fileInput.files[0]);
  }
  fileInput.value = ""; // choosing the same file again still counts as a change
});

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape") {
    clear();
  }
});

pad.addEventListener("dragover", (event) => event.preventDefault());
pad.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) {
    usePhoto(event.dataTransfer.files[0]);
  }
});

async function usePhoto(file) {
  if (file.size > maxBodyBytes) {
    showError(`That file is ${megabytes(file.size)}; the server takes files up to ${megabytes(maxBodyBytes)}.`);
    return;
  }
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    // The browser cannot show it; the server may still read it, and says why if it cannot.
  }
  strokes = [];
  photo = { file, bitmap };
  paint();
  changed(0, true);
}

// Predictions

function changed(delay, settled) {
  version += 1;
  pad.dataset.version = String(version);
  boxLayer.classList.add("stale"); // the boxes are for an older drawing until the next answer comes
  undoButton.disabled = isEmpty();
  clearButton.disabled = isEmpty();
  if (isEmpty()) {
    clearTimeout(timer);
    timer = null;
    showNothing();
    return;
  }
  if (settled) {
    clearTimeout(timer);
    timer = setTimeout(predict, delay);
  } else if (timer === null) {
    timer = setTimeout(predict, delay);
  }
}

function postedPlacement() {
  // Where the posted image's pixels lie on the pad, as fractions of it: boxes come in those pixels.
  if (!photo) {
    return { padWidth: pad.width, left: 0, top: 0, scaleX: 1 / pad.width, scaleY: 1 / pad.height };
  }
  if (!photo.bitmap) {
    return null;
  }
  const place = photoPlacement(); // boxes come in the photo's own pixels, however reduced the server read it
  return {
    padWidth: pad.width,
    left: place.left / pad.width,
    top: place.top / pad.height,
    scaleX: place.scale / pad.width,
    scaleY: place.scale / pad.height,
  };
}

async function predict() {
  timer = null;
  if (requestInFlight) {
    askAgain = true;
    return;
  }
  requestInFlight = true;
  askAgain = false;
  const asked = version;
  const placement = postedPlacement();
  result.setAttribute("aria-busy", "true");
  try {
    const body = new FormData();
    if (photo) {
      body.append("file", photo.file, photo.file.name || "photo");
    } else {
      body.append("file", await new Promise((resolve) => pad.toBlob(resolve, "image/png")), "drawing.png");
    }
    // The number pad asks for a number (touching digits are cut more readily); the digit pad reads
    // one digit, or a number when several separate digits are drawn.
    const query = new URLSearchParams();
    if (whyToggle.checked) query.set("explain", "true");
    if (mode === "number") query.set("mode", "number");
    const url = query.toString() ? `/v1/predict?${query}` : "/v1/predict";
    const response = await fetch(url, { method: "POST", body });
    const answer = await response.json().catch(() => ({ detail: `the server answered ${response.status}` }));
    if (!isEmpty()) {
      if (response.ok) {
        show(answer.predictions[0], placement, asked !== version);
      } else {
        showError(sentence(answer.detail));
      }
      result.dataset.version = String(asked);
    }
  } catch (error) {
    showError(`The server cannot be reached (${error.message}).`);
    result.dataset.version = String(asked);
  } finally {
    requestInFlight = false;
    result.removeAttribute("aria-busy");
    if (!isEmpty() && (askAgain || (asked !== version && timer === null))) {
      predict();
    }
  }
}

function show(prediction, placement, stale) {
  // ``placement``: where the posted image lies on the pad (null: unknown); ``stale``: the pad has changed since.
  message.hidden = true;
  if (prediction.number !== undefined && prediction.number !== null) {
    showNumber(prediction, placement, stale);
    return;
  }
  showKind("digit");
  // The big answer is the digit only when the model says it is one; otherwise what it is instead.
  const [first, second] = topTwo(prediction.probabilities);
  digitOutput.dataset.status = prediction.status;
  if (prediction.status === "not_a_digit") {
    digitOutput.textContent = "Not a digit";
    confidenceText.textContent = `looks most like ${first}, ${percent(prediction.probabilities[first])}`;
  } else if (prediction.status === "unsure") {
    digitOutput.textContent = `${first} or ${second}?`;
    confidenceText.textContent = `unsure: ${first} ${percent(prediction.probabilities[first])}, ` +
      `${second} ${percent(prediction.probabilities[second])}`;
  } else {
    digitOutput.textContent = String(prediction.digit);
    confidenceText.textContent = `${percent(prediction.confidence)} sure`;
  }
  showBars(prediction);
  showSeen(prediction.image, prediction.explanation);
}

function showKind(kind) {
  // "digit": one digit's bars and 28x28; "number": a tile per digit and the picked digit's bars; "": none.
  result.dataset.kind = kind;
  digitOutput.dataset.kind = kind;
  numberDigits.hidden = kind !== "number";
  seenFigure.hidden = kind === "number";
  if (kind !== "number") {
    shownNumber = null;
    digitOutput.classList.remove("long");
    tiles.replaceChildren();
    clearBoxes();
    barsTitle.textContent = "Probability of each digit";
  }
}

function showBars(prediction) {
  prediction.probabilities.forEach((probability, digit) => setBar(digit, probability, digit === prediction.digit));
}

function showSeen(image, explanation) {
  drawSeen(seen, image);
  showWhy(explanation);
}

function drawSeen(target, image) {
  const pixels = target.createImageData(28, 28);
  image.flat().forEach((value, index) => {
    pixels.data.set([value, value, value, 255], index * 4);
  });
  target.putImageData(pixels, 0, 0);
}

function showWhy(explanation) {
  const shown = whyToggle.checked && Boolean(explanation);
  whyCanvas.hidden = !shown;
  whyCaption.hidden = !shown;
  if (shown) {
    drawWhy(whyCanvas, explanation);
  }
}

function drawWhy(canvas, explanation) {
  // Red where a pixel's ink supports the digit, blue where it speaks against it, opaque as it matters.
  const values = explanation.map.flat();
  const scale = Math.max(...values.map(Math.abs)) || 1;
  const target = canvas.getContext("2d");
  const pixels = target.createImageData(28, 28);
  values.forEach((value, index) => {
    const colour = value > 0 ? [239, 68, 68] : [59, 130, 246];
    pixels.data.set([...colour, Math.round((255 * 0.9 * Math.abs(value)) / scale)], index * 4);
  });
  target.putImageData(pixels, 0, 0);
  canvas.dataset.digit = String(explanation.digit);
}

function showError(text) {
  showNoPrediction("");
  message.textContent = text;
  message.hidden = false;
}

function showNothing() {
  const what = mode === "number" ? "Write a number to see what the model reads." : "Draw a digit to see what the model says.";
  showNoPrediction(what);
  result.dataset.version = String(version);
}

function showNoPrediction(hint) {
  showKind("");
  message.hidden = true;
  digitOutput.textContent = "?";
  digitOutput.dataset.status = "";
  confidenceText.textContent = hint;
  for (let digit = 0; digit < 10; digit += 1) {
    setBar(digit, 0, false);
  }
  seen.fillStyle = PAPER;
  seen.fillRect(0, 0, 28, 28);
  showWhy(null);
}

// Numbers: the number big, a box per digit over the drawing, a tile per digit, the picked digit's bars

function showNumber(prediction, placement, stale) {
  const digits = prediction.digits;
  // A new answer with as many digits keeps the digit the user picked; otherwise the first in doubt, or the first.
  if (!picked || !shownNumber || shownNumber.digits.length !== digits.length) {
    picked = false;
    selected = Math.max(digits.findIndex((digit) => digit.status !== "digit"), 0);
  }
  const focused = tiles.contains(document.activeElement) ? selected : null;
  showKind("number");
  shownNumber = prediction;
  digitOutput.dataset.status = prediction.status;
  digitOutput.classList.toggle("long", digits.length > 5);
  if (prediction.status === "not_a_digit") {
    digitOutput.textContent = "Not a number";
  } else {
    digitOutput.replaceChildren(...digits.map((digit) => {
      const span = document.createElement("span");
      span.textContent = String(digit.digit);
      span.dataset.status = digit.status;
      return span;
    }));
  }
  confidenceText.textContent = numberSummary(prediction);
  tiles.replaceChildren(...digits.map((digit, index) => tile(digit, index, digits.length)));
  tilesWhyCaption.hidden = !(whyToggle.checked && digits.some((digit) => digit.explanation));
  if (placement && placement.padWidth === pad.width) {
    showBoxes(digits, placement, stale); // while a stroke goes on, the last answer's boxes, faded
  } else {
    clearBoxes();
  }
  select(selected);
  if (focused !== null) {
    tiles.querySelector(`[data-index="${focused}"]`).focus();
  }
}

function numberSummary(prediction) {
  const digits = prediction.digits;
  if (prediction.status === "not_a_digit") {
    return `looks most like ${prediction.number}`;
  }
  const doubts = digits.flatMap((digit, index) => {
    if (digit.status === "digit") {
      return [];
    }
    if (digit.status === "not_a_digit") {
      return [`the ${ordinal(index + 1)} is not a digit`];
    }
    const [first, second] = topTwo(digit.probabilities);
    return [`the ${ordinal(index + 1)} is ${first} or ${second}`];
  });
  if (doubts.length) {
    return `unsure: ${doubts.join(", ")}`;
  }
  return `${percent(prediction.confidence)} sure of all ${digits.length} digits`;
}

function describeDigit(digit) {
  const [first, second] = topTwo(digit.probabilities);
  if (digit.status === "not_a_digit") {
    return `not a digit, looks most like ${digit.digit}`;
  }
  if (digit.status === "unsure") {
    return `unsure: ${first} or ${second}`;
  }
  return `${digit.digit}, ${percent(digit.confidence)} sure`;
}

function tile(digit, index, count) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tile";
  button.dataset.index = String(index);
  button.dataset.status = digit.status;
  button.setAttribute("aria-label", `Digit ${index + 1} of ${count}: ${describeDigit(digit)}`);
  button.innerHTML =
    '<span class="tile-image"><canvas class="tile-seen" width="28" height="28"></canvas>' +
    '<canvas class="tile-why" width="28" height="28" hidden></canvas></span>' +
    '<span class="tile-digit"></span><span class="tile-confidence"></span><span class="tile-status"></span>';
  drawSeen(button.querySelector(".tile-seen").getContext("2d"), digit.image);
  const why = button.querySelector(".tile-why");
  if (whyToggle.checked && digit.explanation) {
    drawWhy(why, digit.explanation);
    why.hidden = false;
  }
  button.querySelector(".tile-digit").textContent = String(digit.digit) + (digit.status === "unsure" ? "?" : "");
  button.querySelector(".tile-confidence").textContent = percent(digit.confidence);
  button.querySelector(".tile-status").textContent = { unsure: "unsure", not_a_digit: "not a digit" }[digit.status] || "";
  button.addEventListener("click", () => select(index, true));
  button.addEventListener("pointerenter", () => highlight(index, true));
  button.addEventListener("pointerleave", () => highlight(index, false));
  button.addEventListener("focus", () => highlight(index, true));
  button.addEventListener("blur", () => highlight(index, false));
  item.append(button);
  return item;
}

tiles.addEventListener("keydown", (event) => {
  // Left and right arrows move between the digits, as in the number.
  const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
  const current = event.target.closest(".tile");
  if (!step || !current || !shownNumber) {
    return;
  }
  event.preventDefault();
  const next = Math.min(Math.max(Number(current.dataset.index) + step, 0), shownNumber.digits.length - 1);
  select(next, true);
  tiles.querySelector(`[data-index="${next}"]`).focus();
});

function select(index, byUser = false) {
  // The bars are for one digit of the number: the picked tile's, whose box is outlined more boldly.
  selected = index;
  picked = picked || byUser;
  const digits = shownNumber.digits;
  for (const button of tiles.querySelectorAll(".tile")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
  }
  for (const box of boxLayer.children) {
    box.classList.toggle("selected", Number(box.dataset.index) === index);
  }
  barsTitle.textContent = `Probability of each digit, for digit ${index + 1} of ${digits.length}`;
  showBars(digits[index]);
}

function highlight(index, on) {
  const box = boxLayer.querySelector(`[data-index="${index}"]`);
  if (box) {
    box.classList.toggle("highlight", on);
  }
}

function showBoxes(digits, placement, stale) {
  // Boxes come in the posted image's pixels; placed as fractions of the pad, they follow its size.
  boxLayer.replaceChildren();
  boxLayer.classList.toggle("stale", stale);
  digits.forEach((digit, index) => {
    if (!digit.box) {
      return;
    }
    const [left, top, right, bottom] = digit.box;
    const fraction = {
      left: placement.left + left * placement.scaleX,
      top: placement.top + top * placement.scaleY,
      width: (right - left) * placement.scaleX,
      height: (bottom - top) * placement.scaleY,
    };
    const box = document.createElement("div");
    box.className = "box";
    box.dataset.index = String(index);
    box.dataset.digit = String(digit.digit);
    box.dataset.status = digit.status;
    box.classList.toggle("label-inside", fraction.top < 0.1); // no room above it: the label goes inside
    for (const side of ["left", "top", "width", "height"]) {
      box.style[side] = `${(fraction[side] * 100).toFixed(3)}%`;
    }
    const label = document.createElement("span");
    label.className = "box-label";
    label.textContent = { unsure: `${digit.digit}?`, not_a_digit: "✕" }[digit.status] || String(digit.digit);
    box.append(label);
    boxLayer.append(box);
  });
}

function clearBoxes() {
  boxLayer.replaceChildren();
}

// Small helpers

function topTwo(probabilities) {
  const order = probabilities.map((probability, digit) => [probability, digit]).sort((a, b) => b[0] - a[0]);
  return [order[0][1], order[1][1]];
}

function ordinal(number) {
  const suffixes = { one: "st", two: "nd", few: "rd", other: "th" };
  return `${number}${suffixes[new Intl.PluralRules("en", { type: "ordinal" }).select(number)]}`;
}

function setBar(digit, probability, isTop) {
  const item = bars.children[digit];
  item.style.setProperty("--p", probability.toFixed(4));
  item.classList.toggle("top", isTop);
  item.querySelector(".value").textContent = probability >= 0.005 ? percent(probability, 0) : "";
  item.setAttribute("aria-label", `${digit}: ${percent(probability)}`);
}

function percent(probability, digits = 1) {
  return `${(probability * 100).toFixed(digits)}%`;
}

function megabytes(bytes) {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function sentence(text) {
  const words = String(text || "something went wrong"); // not capitalised: it may start with a file name
  return words + (/[.!?]$/.test(words) ? "" : ".");
}

// Start

for (let digit = 0; digit < 10; digit += 1) {
  const item = document.createElement("li");
  item.innerHTML = '<span class="value"></span><span class="bar"><span class="fill"></span></span>';
  item.insertAdjacentHTML("beforeend", `<span class="label">${digit}</span>`);
  bars.append(item);
}
try {
  setMode(localStorage.getItem(MODE_KEY) || "digit", false);
} catch {
  setMode("digit", false);
}
paint();
showNothing();

fetch("/v1/model")
  .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`status ${response.status}`))))
  .then((model) => {
    maxBodyBytes = model.input.max_body_bytes;
    const accuracy = model.test_accuracy == null ? "" : ` · ${percent(model.test_accuracy, 2)} test accuracy`;
    modelInfo.textContent = `Model ${model.name}${accuracy} · ${model.runtime} runtime`;
    if (model.card) {
      const link = document.createElement("a");
      link.href = model.card;
      link.textContent = "model card";
      modelInfo.append(" · ", link);
    }
  })
  .catch((error) => {
    modelInfo.textContent = `The model's details cannot be read (${error.message}).`;
  });
