// The drawing page: strokes on a canvas -> PNG -> POST /v1/predict -> digit, bars and the 28x28 image seen.
"use strict";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const SIZE = pad.width;
// MNIST strokes are about 1/8 of a digit's height; a digit drawn over two thirds of the pad gets the same.
const STROKE_WIDTH = SIZE / 12;
const INK = "#fff";
const PAPER = "#000";
const LIVE_INTERVAL_MS = 250; // while a stroke goes on, ask at most this often
const SETTLE_MS = 40; // after a stroke ends, ask almost at once

const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const uploadButton = document.getElementById("upload");
const fileInput = document.getElementById("file");
const result = document.getElementById("result");
const digitOutput = document.getElementById("digit");
const confidenceText = document.getElementById("confidence");
const message = document.getElementById("message");
const bars = document.getElementById("bars");
const seen = document.getElementById("seen").getContext("2d");
const modelInfo = document.getElementById("model-info");

let strokes = []; // each stroke is a list of [x, y] points in canvas pixels
let activeStroke = null; // {pointerId, points} while a pointer is down
let photo = null; // {file, bitmap} after an upload; drawing again replaces it
let version = 0; // counts changes to what is on the pad; a prediction shows the version it was made for
let timer = null;
let requestInFlight = false;
let askAgain = false;
let maxBodyBytes = 5_000_000;

function isEmpty() {
  return strokes.length === 0 && photo === null;
}

// Drawing

function paint() {
  context.fillStyle = PAPER;
  context.fillRect(0, 0, SIZE, SIZE);
  if (photo && photo.bitmap) {
    const scale = Math.min(SIZE / photo.bitmap.width, SIZE / photo.bitmap.height);
    const width = photo.bitmap.width * scale;
    const height = photo.bitmap.height * scale;
    context.drawImage(photo.bitmap, (SIZE - width) / 2, (SIZE - height) / 2, width, height);
  }
  for (const points of strokes) {
    drawStroke(points);
  }
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
  return [((event.clientX - box.left) * SIZE) / box.width, ((event.clientY - box.top) * SIZE) / box.height];
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

async function predict() {
  timer = null;
  if (requestInFlight) {
    askAgain = true;
    return;
  }
  requestInFlight = true;
  askAgain = false;
  const asked = version;
  result.setAttribute("aria-busy", "true");
  try {
    const body = new FormData();
    if (photo) {
      body.append("file", photo.file, photo.file.name || "photo");
    } else {
      body.append("file", await new Promise((resolve) => pad.toBlob(resolve, "image/png")), "drawing.png");
    }
    const response = await fetch("/v1/predict", { method: "POST", body });
    const answer = await response.json().catch(() => ({ detail: `the server answered ${response.status}` }));
    if (!isEmpty()) {
      if (response.ok) {
        show(answer.predictions[0]);
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

function show(prediction) {
  message.hidden = true;
  if (prediction.number !== undefined && prediction.number !== null) {
    showNumber(prediction);
    return;
  }
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
  prediction.probabilities.forEach((probability, digit) => setBar(digit, probability, digit === prediction.digit));
  const pixels = seen.createImageData(28, 28);
  prediction.image.flat().forEach((value, index) => {
    pixels.data.set([value, value, value, 255], index * 4);
  });
  seen.putImageData(pixels, 0, 0);
}

function showError(text) {
  showNoPrediction("");
  message.textContent = text;
  message.hidden = false;
}

function showNothing() {
  showNoPrediction("Draw a digit to see what the model says.");
  result.dataset.version = String(version);
}

function showNoPrediction(hint) {
  message.hidden = true;
  digitOutput.textContent = "?";
  digitOutput.dataset.status = "";
  confidenceText.textContent = hint;
  for (let digit = 0; digit < 10; digit += 1) {
    setBar(digit, 0, false);
  }
  seen.fillStyle = PAPER;
  seen.fillRect(0, 0, 28, 28);
}

function showNumber(prediction) {
  // Several digits: the number read, each digit's confidence; the bars and the 28x28 are per digit.
  digitOutput.dataset.status = prediction.status === "digit" ? "number" : prediction.status;
  digitOutput.textContent = prediction.status === "not_a_digit" ? "Not a number" : prediction.number;
  confidenceText.textContent = "digits " + prediction.digits
    .map((digit) => `${digit.digit} ${percent(digit.confidence)}${digit.status === "digit" ? "" : " (" + digit.status.replaceAll("_", " ") + ")"}`)
    .join(", ");
  for (let digit = 0; digit < 10; digit += 1) {
    setBar(digit, 0, false);
  }
  const pixels = seen.createImageData(28, 28);
  prediction.digits[0].image.flat().forEach((value, index) => {
    pixels.data.set([value, value, value, 255], index * 4);
  });
  seen.putImageData(pixels, 0, 0);
}

function topTwo(probabilities) {
  const order = probabilities.map((probability, digit) => [probability, digit]).sort((a, b) => b[0] - a[0]);
  return [order[0][1], order[1][1]];
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
