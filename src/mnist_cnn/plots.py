"""Matplotlib/Seaborn figures: training history, confusion matrix, most confident mistakes, reliability,
explanations (an attribution map over the digit the model saw) and the test set laid out in 2-D.

Each ``*_figure`` function returns a ``matplotlib.figure.Figure`` (a notebook shows it inline);
each ``save_*`` function writes one as a PNG, atomically. Figures are built without pyplot, so
nothing here changes the caller's Matplotlib backend.
"""

from __future__ import annotations

import math
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
    # A diverged run's NaN or infinite losses are left out of the scale (matplotlib refuses them as limits).
    accuracies = finite([value for row in later for value in (row["accuracy"], row["val_accuracy"])])
    losses = finite([value for row in later for value in (row["loss"], row["val_loss"])])
    if accuracies:
        accuracy_axes.set_ylim(max(0.0, min(accuracies) - 0.01), 1.0)
    if losses and max(losses) > 0:
        loss_axes.set_ylim(0, max(losses) * 1.1)
    figure.suptitle(title)
    return figure


def finite(values: list[float]) -> list[float]:
    """The finite numbers among ``values`` (NaN and infinities dropped)."""
    return [float(value) for value in values if np.isfinite(value)]


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


def attribution_overlay(image: np.ndarray, attribution: np.ndarray) -> np.ndarray:
    """RGBA float (28, 28, 4): a map over its digit drawn dark on light, red where ink supports the
    digit, blue where it speaks against it, opaque in proportion to the largest absolute value."""
    from matplotlib import colormaps

    scale = float(np.abs(attribution).max()) or 1.0
    colours = colormaps["RdBu_r"](0.5 + 0.5 * np.clip(attribution / scale, -1, 1))
    strength = np.clip(np.abs(attribution) / scale, 0, 1)[..., None]
    paper = np.repeat((1 - 0.35 * np.asarray(image, dtype=np.float32) / 255)[..., None], 3, axis=-1)
    overlay = np.ones(image.shape + (4,), dtype=np.float32)
    overlay[..., :3] = (1 - strength) * paper + strength * colours[..., :3]
    return overlay


def explanation_figure(
    image: np.ndarray, attribution: np.ndarray, top: list[tuple[int, float]], headline: str, method: str
) -> Figure:
    """Three panels: the uint8 (28, 28) image the model saw, the attribution map (28, 28) over it, and the
    top digits' probabilities ``top`` as (digit, 0-1) pairs. ``headline``: the answer in words."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    figure = Figure(figsize=(9, 3.3), layout="constrained")
    seen_axes, map_axes, top_axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.25, 1]})
    seen_axes.imshow(image, cmap="gray", vmin=0, vmax=255)
    seen_axes.set_title("What the model saw (28x28)", fontsize=9)
    map_axes.imshow(attribution_overlay(image, attribution))
    unit = "log probability" if method == "integrated-gradients" else "probability"
    map_axes.set_title(f"Why: {method.replace('-', ' ')}\nred for {top[0][0]}, blue against", fontsize=9)
    scale = float(np.abs(attribution).max()) or 1.0
    colour_bar = figure.colorbar(
        ScalarMappable(Normalize(-scale, scale), "RdBu_r"), ax=map_axes, fraction=0.046, pad=0.03
    )
    colour_bar.set_label(f"contribution ({unit})", fontsize=8)
    colour_bar.ax.tick_params(labelsize=7)
    for axes in (seen_axes, map_axes):
        axes.set_xticks([])
        axes.set_yticks([])
    digits = [str(digit) for digit, _ in top][::-1]
    probabilities = [probability for _, probability in top][::-1]
    bars = top_axes.barh(digits, probabilities, color=["#aab3c0"] * (len(top) - 1) + ["#1d5fd6"])
    top_axes.bar_label(bars, labels=[f"{probability:.1%}" for probability in probabilities], fontsize=8, padding=2)
    top_axes.set_xlim(0, 1.25)
    top_axes.set_xticks([])
    top_axes.set_title(f"Top {len(top)} digits", fontsize=9)
    for side in ("top", "right", "bottom"):
        top_axes.spines[side].set_visible(False)
    figure.suptitle(headline, fontsize=11)
    return figure


def save_explanation(
    image: np.ndarray, attribution: np.ndarray, top: list[tuple[int, float]], headline: str, method: str, target: Path
) -> Path:
    return save_figure(explanation_figure(image, attribution, top, headline, method), target)


def embedding_figure(embedding, class_names: tuple[str, ...], title: str) -> Figure:
    """An ``explain.Embedding``'s points coloured by true label, each class named at its median, and its
    misclassified digits circled in black."""
    import seaborn as sns

    figure = Figure(figsize=(8, 7.5), layout="constrained")
    axes = figure.subplots()
    palette = sns.color_palette("tab10", len(class_names))
    points, labels = embedding.points, embedding.labels
    for label, name in enumerate(class_names):
        members = points[labels == label]
        if not len(members):
            continue
        axes.scatter(members[:, 0], members[:, 1], s=6, color=palette[label], alpha=0.7, label=name, linewidths=0)
        x, y = np.median(members, axis=0)
        label_box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0}
        axes.annotate(name, (x, y), fontsize=14, fontweight="bold", ha="center", va="center", color=palette[label],
                      bbox=label_box)  # fmt: skip
    wrong = embedding.misclassified
    axes.scatter(points[wrong, 0], points[wrong, 1], s=40, facecolors="none", edgecolors="black", linewidths=1.0,
                 label=f"misclassified ({int(wrong.sum())})")  # fmt: skip
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(loc="best", fontsize=8, markerscale=2, ncol=2, title="true label")
    shown = len(labels)
    sample = f"{shown:,} of {embedding.total:,} digits (every mistake kept, the rest at random)"
    if shown == embedding.total:
        sample = f"all {shown:,} digits"
    axes.set_title(f"{title}\nt-SNE of penultimate-layer features: {sample}", fontsize=10)
    return figure


def save_embedding(embedding, class_names: tuple[str, ...], target: Path, title: str) -> Path:
    return save_figure(embedding_figure(embedding, class_names, title), target)


def search_figure(rows: list[dict], curves: list[dict], varying: dict, target: float | None, title: str) -> Figure:
    """A hyperparameter search (``tuning.py``) at a glance: each trial's validation accuracy against its
    training seconds (the best trial in colour, trials ASHA stopped dashed), the objective per trial
    with the best so far, and the objective against each searched setting. The objective is the
    seconds to the ``target`` validation accuracy (lower is better; trials that never reached it are
    crosses at the top) or, without a target, the best validation accuracy."""
    panels = 2 + len(varying)
    columns = min(3, panels)
    figure = Figure(figsize=(4.6 * columns, 3.6 * math.ceil(panels / columns)), layout="constrained")
    axes = list(np.ravel(figure.subplots(math.ceil(panels / columns), columns, squeeze=False)))
    for spare in axes[panels:]:
        spare.set_visible(False)
    scored = [row for row in rows if row["score"] is not None]
    best = max(scored, key=lambda row: row["score"])["trial"] if scored else None

    curve_axes = axes[0]
    for row in rows:
        points = [point for point in curves if point["trial"] == row["trial"]]
        if not points:
            continue
        is_best = row["trial"] == best
        curve_axes.plot(
            [point["seconds"] for point in points],
            [point["val_accuracy"] * 100 for point in points],
            marker="o",
            markersize=3,
            linestyle="--" if row["status"] == "stopped early" else "-",
            color="tab:red" if is_best else "grey",
            alpha=1.0 if is_best else 0.5,
            linewidth=2 if is_best else 1,
            label=f"best: trial {best}" if is_best else None,
        )
    if target is not None:
        curve_axes.axhline(target * 100, color="black", linestyle=":", linewidth=1, label=f"target {target:.1%}")
    accuracies = [point["val_accuracy"] * 100 for point in curves]
    if accuracies:  # trials near chance would flatten the rest: show the top few points of accuracy
        lowest = max(min(accuracies), np.percentile(accuracies, 75) - 3)
        if target is not None:
            lowest = min(lowest, target * 100 - 0.5)
        curve_axes.set_ylim(lowest, max(accuracies + [target * 100 if target else 0]) + 0.2)
    curve_axes.set_xlabel("training seconds")
    curve_axes.set_ylabel("validation accuracy (%)")
    curve_axes.set_title("Trials (dashed: stopped early by ASHA)")
    curve_axes.grid(alpha=0.3)
    if best is not None or target is not None:
        curve_axes.legend(fontsize=8)

    if target is not None:
        label = f"seconds to {target:.1%} (x: not reached)"
        reached = [row["seconds_to_target"] for row in rows if row["seconds_to_target"] is not None]
        ceiling = max(reached) * 1.15 if reached else 1.0

        def objective(row):
            return row["seconds_to_target"] if row["seconds_to_target"] is not None else ceiling

        def best_of(values):
            return np.minimum.accumulate(values)
    else:
        label = "best validation accuracy (%)"

        def objective(row):
            return (row["best_val_accuracy"] or 0.0) * 100

        def best_of(values):
            return np.maximum.accumulate(values)

    shown = [row for row in rows if row["best_val_accuracy"] is not None]

    def draw(axes, x_of, row_list):
        for row in row_list:
            missed = target is not None and row["seconds_to_target"] is None
            axes.scatter(x_of(row), objective(row), marker="x" if missed else "o", s=30,
                         color="tab:red" if row["trial"] == best else "tab:blue")  # fmt: skip
        axes.set_ylabel(label, fontsize=8)
        axes.grid(alpha=0.3)

    trial_axes = axes[1]
    draw(trial_axes, lambda row: row["trial"], shown)
    if shown:
        trial_axes.step([row["trial"] for row in shown], best_of([objective(row) for row in shown]), where="post",
                        color="tab:red", linewidth=1, label="best so far")  # fmt: skip
        trial_axes.legend(fontsize=8)
    trial_axes.set_xlabel("trial")
    trial_axes.xaxis.get_major_locator().set_params(integer=True)
    trial_axes.set_title("Objective per trial")

    for setting_axes, (name, spec) in zip(axes[2:], varying.items()):
        kind, values = next(iter(spec.items()))
        if kind == "choice":
            position = {value: index for index, value in enumerate(values)}
            draw(setting_axes, lambda row, name=name, position=position: position.get(row[name], np.nan), shown)
            setting_axes.set_xticks(range(len(values)), [str(value) for value in values])
        else:
            draw(setting_axes, lambda row, name=name: row[name], shown)
            if kind == "log_uniform":
                setting_axes.set_xscale("log")
        setting_axes.set_xlabel(name)
        setting_axes.set_title(name, fontsize=10)
    figure.suptitle(title)
    return figure


def save_search_plot(
    rows: list[dict], curves: list[dict], varying: dict, target: float | None, target_path: Path, title: str
) -> Path:
    return save_figure(search_figure(rows, curves, varying, target, title), target_path)
