"""Knowledge distillation: the mixed targets on small arrays, the options and their errors, and a short
real-data run whose teacher answers every digit with the next one, so the student can only learn that
from the teacher."""

import numpy as np
import pytest

from conftest import main_fails
from mnist_cnn import distillation, training
from mnist_cnn.errors import UsageError
from mnist_cnn.training import TrainConfig, make_pipeline
from test_train_config import config_given_to_train


def test_temperature_one_keeps_the_probabilities_and_a_higher_one_flattens_them_in_the_same_order():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.98, 0.01, 0.01]], np.float32)
    np.testing.assert_allclose(distillation.soften(probabilities, 1.0), probabilities, rtol=1e-5)
    softened = distillation.soften(probabilities, 4.0)
    np.testing.assert_allclose(softened.sum(axis=1), 1.0, rtol=1e-6)
    assert (softened.max(axis=1) < probabilities.max(axis=1)).all()
    assert (softened.argsort(axis=1) == probabilities.argsort(axis=1)).all()
    np.testing.assert_allclose(distillation.soften(np.array([[1.0, 0.0]]), 2.0), [[1.0, 1e-6]], atol=1e-6)


def test_the_weight_moves_the_targets_from_the_labels_to_the_teacher():
    labels = np.array([3, 0])
    teacher = np.full((2, 10), 0.1, np.float32)
    assert (distillation.mixed_targets(labels, teacher, 0.0, 2.0) == np.eye(10)[labels]).all()
    np.testing.assert_allclose(distillation.mixed_targets(labels, teacher, 1.0, 2.0), teacher, rtol=1e-5)
    half = distillation.mixed_targets(labels, teacher, 0.5, 1.0)
    assert half.dtype == np.float32 and half.shape == (2, 10)
    np.testing.assert_allclose(half[0, 3], 0.55, rtol=1e-5)
    np.testing.assert_allclose(half.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("weight", "temperature", "shape", "message"),
    [
        (1.5, 2.0, (2, 10), "--teacher-weight must be in"),
        (0.5, 0.0, (2, 10), "--teacher-temperature must be positive"),
        (0.5, 2.0, (3, 10), r"shape \(3, 10\) for 2 images"),
        (0.5, 2.0, (2, 1), r"shape \(2, 1\)"),
    ],
)
def test_bad_weights_temperatures_and_shapes_are_refused(weight, temperature, shape, message):
    with pytest.raises(UsageError, match=message):
        distillation.mixed_targets(np.array([1, 2]), np.full(shape, 0.1, np.float32), weight, temperature)


def test_the_pipeline_passes_soft_targets_through_and_makes_integer_labels_one_hot():
    images = np.zeros((4, 28, 28), np.uint8)
    soft = np.full((4, 10), 0.1, np.float32)
    _, targets = next(iter(make_pipeline(images, soft, 4)))
    np.testing.assert_allclose(targets.numpy(), soft)
    _, targets = next(iter(make_pipeline(images, np.array([1, 2, 3, 4]), 4)))
    assert (targets.numpy() == np.eye(10)[[1, 2, 3, 4]]).all()


def test_teacher_options_reach_the_config_and_fill_their_defaults(monkeypatch):
    given = config_given_to_train(["--model", "best", "--teacher", "best", "--teacher-weight", "0.3"], monkeypatch)
    assert given == TrainConfig(model="best", teacher="best", teacher_weight=0.3)
    resolved = given.resolved()
    assert (resolved.teacher_weight, resolved.teacher_temperature) == (0.3, training.TEACHER_TEMPERATURE)
    plain = TrainConfig(model="best").resolved()
    assert (plain.teacher, plain.teacher_weight, plain.teacher_temperature) == (None, None, None)


def test_wrong_teachers_and_settings_exit_2_before_any_folder(tmp_path, capfd):
    run = str(tmp_path / "run")
    line = main_fails(["train", "--teacher-weight", "0.3", "--out", run], capfd)
    assert line == "error: --teacher-weight and --teacher-temperature need --teacher MODEL"
    line = main_fails(["train", "--teacher", str(tmp_path / "no.keras"), "--out", run], capfd)
    assert "no.keras" in line
    line = main_fails(["train", "--teacher", "best", "--teacher-temperature", "-1", "--out", run], capfd)
    assert line == "error: --teacher-temperature must be positive and finite; received -1.0"
    detector = str(training.Path(distillation.__file__).parent / "detector" / "model.keras")
    line = main_fails(["train", "--teacher", detector, "--out", run], capfd)
    assert "a teacher must take (None, 28, 28, 1) images and give (None, 10) probabilities" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_student_learns_what_only_its_teacher_says(mnist_dir, tmp_path):
    """The teacher is `best` followed by a fixed permutation: it calls every d "d + 1". With the whole
    weight on the teacher, the student must call most validation digits d + 1 too."""
    import keras

    from mnist_cnn import data
    from mnist_cnn.runtimes import load_keras_model, resolve_model_path

    best = load_keras_model(resolve_model_path("best", "keras")[1])
    shift = keras.layers.Dense(10, use_bias=False, name="next_digit")
    teacher = keras.Sequential([keras.Input((28, 28, 1)), best, shift])
    shift.set_weights([np.roll(np.eye(10, dtype=np.float32), 1, axis=1)])
    teacher.save(tmp_path / "teacher.keras")

    config = TrainConfig(
        model="fast", epochs=2, limit=12000, batch_size=32, teacher=str(tmp_path / "teacher.keras"), teacher_weight=1.0
    )  # 750 steps: enough for BatchNorm's running statistics (training.FEW_STEPS)
    result = training.train(config, out_dir=tmp_path / "run", data_dir=mnist_dir, log=lambda *_: None)
    student = load_keras_model(result.run_dir / "model.keras")
    dataset = data.load_dataset("mnist", mnist_dir)
    _, (images, labels) = training.split_for(config.resolved(), dataset)
    predicted = student.predict(images[:1000, ..., None] / 255.0, verbose=0).argmax(axis=1)
    assert (predicted == (labels[:1000] + 1) % 10).mean() > 0.7
