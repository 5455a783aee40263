"""Matplotlib/Seaborn figures: training history, confusion matrix, most confident mistakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_cnn.files import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _save(figure, target: Path) -> Path:
    with atomic_path(target) as partial:
        figure.savefig(partial, dpi=120, bbox_inches="tight", format="png")
    _pyplot().close(figure)
    return target


def save_history_plot(histories: dict[str, list[dict]], target: Path, title: str) -> Path:
    """Train and validation accuracy and loss per epoch, side by side; one pair of curves per run
    (``histories`` maps a label, "" for a single run, to its history rows)."""
    plt = _pyplot()
    figure, (accuracy_axes, loss_axes) = plt.subplots(1, 2, figsize=(11, 4))
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
    # The first epoch's validation score is often near chance (BatchNorm statistics still settling);
    # it would flatten the rest of the curve, so the accuracy axis starts at 90%.
    values = [row[key] for history in histories.values() for row in history for key in ("accuracy", "val_accuracy")]
    if values and max(values) > 0.95:
        accuracy_axes.set_ylim(0.9, 1.0)
    loss_values = [row[key] for history in histories.values() for row in history for key in ("loss", "val_loss")]
    if loss_values:
        loss_axes.set_ylim(0, min(max(loss_values), 3 * sorted(loss_values)[len(loss_values) // 2]))
    figure.suptitle(title)
    return _save(figure, target)


def save_confusion_matrix(matrix: np.ndarray, class_names: tuple[str, ...], target: Path, title: str) -> Path:
    """A Seaborn heatmap of counts, true class down, predicted class across."""
    import seaborn as sns

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 7))
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
    return _save(figure, target)


def save_misclassified_grid(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: tuple[str, ...],
    target: Path,
    count: int = 36,
) -> Path:
    """The most confident mistakes, each titled with its true and predicted label and confidence."""
    plt = _pyplot()
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure, axes_grid = plt.subplots(rows, columns, figsize=(columns * 1.7, rows * 2.0), squeeze=False)
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
    figure.tight_layout()
    return _save(figure, target)
