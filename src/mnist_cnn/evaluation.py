"""Evaluation: metrics as plain data first; reports and plots are written from that result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_cnn.files import write_text
from mnist_cnn.preprocessing import model_input


@dataclass
class EvaluationResult:
    """Metrics of a model on a labelled set. ``probabilities``: float array (n, 10)."""

    accuracy: float
    loss: float  # the negative log-likelihood (cross-entropy), nats
    count: int
    per_class_accuracy: dict[str, float]
    class_names: tuple[str, ...]
    confusion_matrix: list[list[int]]
    labels: np.ndarray = field(repr=False)
    probabilities: np.ndarray = field(repr=False)
    ece: float = 0.0  # expected calibration error, 15 equal-width bins (Guo et al. 2017), 0-1
    brier: float = 0.0  # Brier score, 0-2

    def report(self) -> str:
        """scikit-learn's per-class precision, recall and F1 report."""
        from sklearn.metrics import classification_report

        return classification_report(
            self.labels,
            self.probabilities.argmax(axis=1),
            labels=list(range(len(self.class_names))),
            target_names=list(self.class_names),
            digits=4,
            zero_division=0,
        )

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "ece": self.ece,
            "nll": self.loss,
            "brier": self.brier,
            "count": self.count,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion_matrix": self.confusion_matrix,
        }


def score(probabilities: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> EvaluationResult:
    """Accuracy, cross-entropy loss (NLL), ECE, Brier score, per-class accuracy, confusion matrix and report
    from probabilities (n, classes) and integer labels (n,)."""
    from mnist_cnn import calibration

    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    classes = len(class_names)
    # A bincount, not scikit-learn, so scoring works on the light prediction-only install.
    matrix = np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    true_probability = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return EvaluationResult(
        accuracy=float((predicted == labels).mean()),
        loss=float(-np.log(true_probability).mean()),
        count=int(len(labels)),
        per_class_accuracy={name: float(value) for name, value in zip(class_names, per_class)},
        class_names=tuple(class_names),
        confusion_matrix=matrix.tolist(),
        labels=labels,
        probabilities=probabilities,
        ece=calibration.expected_calibration_error(probabilities, labels),
        brier=calibration.brier_score(probabilities, labels),
    )


def evaluate(model, images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> EvaluationResult:
    """Evaluate a Keras model on uint8 images (n, 28, 28) with integer labels (n,)."""
    probabilities = np.asarray(model.predict(model_input(images), batch_size=1000, verbose=0))
    return score(probabilities, labels, class_names)


def format_table(result: EvaluationResult) -> str:
    """The per-class accuracy table the CLI prints."""
    rows = [
        f"accuracy {result.accuracy:.2%}  loss {result.loss:.4f}  images {result.count}",
        f"calibration: ECE {result.ece:.2%} (15 bins)  NLL {result.loss:.4f}  Brier {result.brier:.4f}",
        "",
        f"{'class':>12}  {'accuracy':>8}  {'images':>6}",
    ]
    totals = np.asarray(result.confusion_matrix).sum(axis=1)
    for (name, accuracy), total in zip(result.per_class_accuracy.items(), totals):
        rows.append(f"{name:>12}  {accuracy:>8.2%}  {total:>6}")
    return "\n".join(rows)


def write_reports(
    result: EvaluationResult, out_dir: Path, images: np.ndarray, title: str, embedding=None
) -> list[Path]:
    """Write the confusion matrix, reliability diagram, classification report and misclassified grid
    into ``out_dir``, and ``embedding.png`` when an ``explain.Embedding`` of the set is given."""
    from mnist_cnn import plots

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        plots.save_confusion_matrix(
            np.asarray(result.confusion_matrix), result.class_names, out_dir / "confusion_matrix.png", title=title
        ),
        plots.save_reliability_diagram(result.probabilities, result.labels, out_dir / "reliability_diagram.png", title),
        write_text(out_dir / "classification_report.txt", f"{title}\n\n{result.report()}"),
        plots.save_misclassified_grid(
            images, result.labels, result.probabilities, result.class_names, out_dir / "misclassified.png"
        ),
    ]
    if embedding is not None:
        written.append(plots.save_embedding(embedding, result.class_names, out_dir / "embedding.png", title))
    return written
