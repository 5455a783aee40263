import numpy as np
import pytest

from mnist_cnn import models
from mnist_cnn.errors import ModelError


def test_seed_keeps_the_notebook_structure():
    model = models.build_model("seed")
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == [
        "Conv2D",
        "Dropout",
        "BatchNormalization",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "BatchNormalization",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "BatchNormalization",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "BatchNormalization",
        "Flatten",
        "Dense",
        "Dropout",
        "BatchNormalization",
        "Dense",
    ]
    filters = [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"]
    units = [layer.units for layer in model.layers if type(layer).__name__ == "Dense"]
    assert filters == [32, 64, 64, 128] and units == [32, 10]


@pytest.mark.parametrize("name", list(models.RECIPES))
def test_every_recipe_builds_and_outputs_probabilities(name):
    model = models.build_model(name)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    probabilities = np.asarray(model(np.zeros((2, 28, 28, 1), dtype="float32")))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", list(models.RECIPES))
def test_every_recipe_trains_one_step(name):
    from mnist_cnn.training import TrainConfig, build_for_training, compile_model

    config = TrainConfig(model=name).resolved()
    fit_model, model = build_for_training(config)
    compile_model(fit_model, config, steps_per_epoch=1)
    before = [weight.copy() for weight in model.get_weights()]
    rng = np.random.default_rng(0)
    fit_model.fit(rng.random((8, 28, 28, 1), dtype=np.float32), np.eye(10)[rng.integers(0, 10, 8)], verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_unknown_model_names_the_choices():
    with pytest.raises(ModelError, match="unknown model 'vgg'; choose one of: seed"):
        models.recipe("vgg")


def test_dropout_is_a_setting_of_every_architecture():
    def rates(model):
        return [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"]

    assert rates(models.build_model("best")) == [0.4, 0.4, 0.4]
    assert rates(models.build_model("best", dropout=0.25)) == [0.25, 0.25, 0.25]
    assert rates(models.build_model("seed")) == [0.1, 0.1, 0.1, 0.1, 0.2]
    assert rates(models.build_model("fast")) == [] and rates(models.build_model("fast", dropout=0.3)) == [0.3]
