"""mnist_cnn.plots: figures from what a run recorded, including a run that diverged."""

import math

import numpy as np
from PIL import Image

from mnist_cnn import plots


def rows(losses: list[float], accuracies: list[float]) -> list[dict]:
    return [
        {"epoch": epoch, "accuracy": accuracy, "val_accuracy": accuracy, "loss": loss, "val_loss": loss}
        for epoch, (loss, accuracy) in enumerate(zip(losses, accuracies))
    ]


def test_the_history_plot_of_a_run_whose_loss_turned_nan_is_drawn(tmp_path):
    history = rows([2.3, 0.4, math.nan, math.inf], [0.2, 0.9, 0.1, 0.1])
    target = plots.save_history_plot({"": history}, tmp_path / "plot.png", "diverged")
    assert Image.open(target).size[0] > 100
    accuracy_axes, loss_axes = plots.history_figure({"": history}, "diverged").axes
    assert np.allclose(loss_axes.get_ylim(), (0, 0.44))  # scaled to the finite later losses
    assert np.allclose(accuracy_axes.get_ylim(), (0.09, 1.0))


def test_a_history_with_no_finite_loss_still_draws(tmp_path):
    history = rows([math.nan, math.nan], [0.1, 0.1])
    plots.save_history_plot({"": history}, tmp_path / "plot.png", "all nan")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_finite_drops_nan_and_infinities():
    assert plots.finite([1.0, math.nan, -math.inf, np.float32(2.5), math.inf]) == [1.0, 2.5]
