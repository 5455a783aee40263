"""Matplotlib/Seaborn figures: training history, confusion matrix, most confident mistakes.

Each ``*_figure`` function returns a ``matplotlib.figure.Figure`` (a notebook shows it inline);
each ``save_*`` function writes one as a PNG, atomically. Figures are built without pyplot, so
nothing here changes the caller's Matplotlib backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnist_cnn.files import atomic_path


def save_figure(figure: Figure, target: Path) -> Path:
    with atomic_path(target) as partial:
        figure.savefig(partial, dpi=120, bbox_inches="tight", format="png")
    return target


def history_figure(histories: dict[str, list[dict]], title: str) -> Figure:
    """Train and validation accuracy and loss per epoch, side by side; one pair of curves per run
    (``histories`` maps a label, "" for a single run, to its history.csv rows)."""
    figure = Figure(figsize=(11, 4))
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    for axes, metric, label in ((accuracy_axes, "accuracy", "Accuracy"), (loss_axes, "loss", "Loss")):
        for run_label, history in histories.items():
            epochs = [int(row["epoch"]) + 1 for row in history]
            prefix = f"{run_label} " if run_label else ""
            axes.plot(epochs, [row[metric] for row in history], marker="o", markersize=3, label=f"{prefix}train")
            axes.plot(
                epochs, [row[f"val_{metric}"] for row in history], marker="o", markersize=3, label=f"{prefix}validation"
            )
        axes.set_xlabel("Epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_ylabel(label)
        axes.set_title(f"{label} per epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    # The first epoch's validation score can be near chance while BatchNorm's statistics settle; scale
    # the axes to the later epochs so that one point does not flatten the rest of the curves.
    later = [row for history in histories.values() for row in history[1:]] or [
        row for history in histories.values() for row in history
    ]
    if later:
        lowest = min(min(row["accuracy"], row["val_accuracy"]) for row in later)
        accuracy_axes.set_ylim(max(0.0, lowest - 0.01), 1.0)
        highest = max(max(row["loss"], row["val_loss"]) for row in later)
        loss_axes.set_ylim(0, highest * 1.1)
    figure.suptitle(title)
    return figure


def confusion_matrix_figure(matrix: np.ndarray, class_names: tuple[str, ...], title: str) -> Figure:
    """A Seaborn heatmap of counts, true class down, predicted class across."""
    import seaborn as sns

    figure = Figure(figsize=(8, 7))
    axes = figure.subplots()
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=True,
        ax=axes,
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"size": 8},
    )
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    axes.set_title(f"Confusion matrix: {title}")
    return figure


def misclassified_figure(
    images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, class_names: tuple[str, ...], count: int = 36
) -> Figure:
    """The most confident mistakes, each titled with its true and predicted label and confidence."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure = Figure(figsize=(columns * 1.7, rows * 2.0 + 0.5), layout="constrained")
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    for axes in axes_grid.flat:
        axes.axis("off")
    for axes, index in zip(axes_grid.flat, wrong):
        axes.imshow(images[index], cmap="gray_r")
        axes.set_title(
            f"true {class_names[labels[index]]}\npred {class_names[predicted[index]]} "
            f"{probabilities[index, predicted[index]]:.0%}",
            fontsize=8,
        )
    figure.suptitle(f"{len(wrong)} most confident mistakes" if len(wrong) else "No mistakes")
    return figure


def save_history_plot(histories: dict[str, list[dict]], target: Path, title: str) -> Path:
    return save_figure(history_figure(histories, title), target)


def save_confusion_matrix(matrix: np.ndarray, class_names: tuple[str, ...], target: Path, title: str) -> Path:
    return save_figure(confusion_matrix_figure(matrix, class_names, title), target)


def save_misclassified_grid(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: tuple[str, ...],
    target: Path,
    count: int = 36,
) -> Path:
    return save_figure(misclassified_figure(images, labels, probabilities, class_names, count), target)


def reliability_figure(probabilities: np.ndarray, labels: np.ndarray, title: str) -> Figure:
    """A reliability diagram (Guo et al. 2017): accuracy against confidence in 15 equal-width bins, the
    diagonal of perfect calibration, and how many predictions fall in each bin (log scale, below)."""
    from mnist_cnn import calibration

    rows = calibration.confidence_bins(probabilities, labels)
    ece = calibration.expected_calibration_error(probabilities, labels)
    figure = Figure(figsize=(5.5, 6.5))
    accuracy_axes, count_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = rows[0]["upper"] - rows[0]["lower"]
    filled = [row for row in rows if row["count"]]
    accuracy_axes.bar(
        [row["lower"] for row in filled], [row["accuracy"] for row in filled], width=width, align="edge",
        edgecolor="black", label="accuracy",
    )  # fmt: skip
    accuracy_axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    accuracy_axes.plot(
        [row["confidence"] for row in filled], [row["accuracy"] for row in filled], "o", color="red",
        markersize=4, label="mean confidence",
    )  # fmt: skip
    accuracy_axes.set_ylabel("Accuracy")
    accuracy_axes.set_ylim(0, 1)
    accuracy_axes.set_title(f"{title}\nECE {ece:.2%} (15 bins)")
    accuracy_axes.legend(loc="lower right")
    count_axes.bar([row["lower"] for row in rows], [max(row["count"], 0) for row in rows], width=width, align="edge")
    count_axes.set_yscale("symlog")
    count_axes.set_xlabel("Confidence (top probability)")
    count_axes.set_ylabel("Predictions")
    count_axes.set_xlim(0, 1)
    for row in filled:
        count_axes.annotate(str(row["count"]), (row["lower"] + width / 2, row["count"]), ha="center", fontsize=7)
    return figure


def save_reliability_diagram(probabilities: np.ndarray, labels: np.ndarray, target: Path, title: str) -> Path:
    return save_figure(reliability_figure(probabilities, labels, title), target)
