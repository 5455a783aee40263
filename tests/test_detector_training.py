"""scripts/train_detector.py: its recipe of images, and combining trained detectors (the shipped one is a pair)."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def train_detector():
    saved = sys.path[:]
    sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]
    try:
        import train_detector

        yield train_detector
    finally:
        sys.path[:] = saved  # the script adds benchmarks/ itself on import


def saved_detector(folder: Path, seed: int) -> Path:
    """A detector of the shipped shape with random weights (a last bias moved off 0), saved as RUN/model.keras."""
    import keras

    from mnist_cnn.rejection import detector_model

    keras.utils.set_random_seed(seed)
    detector = detector_model()
    kernel, bias = detector.layers[-1].get_weights()
    detector.layers[-1].set_weights([kernel * 20, bias + seed - 1.5])  # spread the outputs out
    folder.mkdir()
    detector.save(folder / "model.keras")
    return folder


def test_combined_detectors_give_the_sigmoid_of_their_mean_logit(train_detector, tmp_path):
    import keras

    runs = [saved_detector(tmp_path / f"run{seed}", seed) for seed in (1, 2)]
    members = [keras.models.load_model(run / "model.keras", compile=False) for run in runs]
    combined = train_detector.combine(runs)
    images = np.random.default_rng(0).uniform(0, 1, (16, 28, 28, 1)).astype(np.float32)

    logits = []
    for member in members:  # each member's logit: its last Dense layer without the sigmoid
        features = keras.Model(member.inputs, member.layers[-1].input).predict(images, verbose=0)
        kernel, bias = member.layers[-1].get_weights()
        logits.append((features @ kernel + bias)[:, 0].astype(np.float64))
    expected = 1 / (1 + np.exp(-np.mean(logits, axis=0)))
    got = combined.predict(images, verbose=0)[:, 0]
    assert got.shape == (16,)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(logits[0] - logits[1]).max() > 0.5  # the members differ: the mean is not trivial


def test_combine_refuses_a_single_run_the_same_run_twice_and_a_combined_member(train_detector, tmp_path):
    run = saved_detector(tmp_path / "run1", 1)
    with pytest.raises(SystemExit, match="two or more different runs"):
        train_detector.combine([run])
    with pytest.raises(SystemExit, match="two or more different runs"):
        train_detector.combine([run, tmp_path / "." / "run1"])
    pair = tmp_path / "pair"
    pair.mkdir()
    train_detector.combine([run, saved_detector(tmp_path / "run2", 2)]).save(pair / "model.keras")
    with pytest.raises(SystemExit, match="not a Dense layer"):
        train_detector.combine([pair, run])


def test_a_combined_detector_saves_and_loads_as_plain_keras(train_detector, tmp_path):
    import keras

    combined = train_detector.combine([saved_detector(tmp_path / f"run{seed}", seed) for seed in (1, 2)])
    combined.save(tmp_path / "combined.keras")
    loaded = keras.models.load_model(tmp_path / "combined.keras", compile=False)  # safe mode: no custom layers
    images = np.random.default_rng(1).uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), combined.predict(images, verbose=0), atol=1e-6)


def test_the_card_names_every_combined_member_and_its_command(train_detector):
    history = {
        "combined": {
            "detector6": {"command": "train_detector.py --out runs/detector6", "val_loss": [0.3, 0.1, 0.2]},
            "detector7": {"command": "train_detector.py --out runs/detector7", "val_loss": [0.2, 0.1]},
        }
    }
    text = train_detector.training_text(history)
    assert "2 detectors" in text and "mean of their logits" in text
    assert "`detector6`: `train_detector.py --out runs/detector6`, 3 epochs, epoch 2 kept" in text
    assert "`detector7`: `train_detector.py --out runs/detector7`, 2 epochs, epoch 2 kept" in text
    single = train_detector.training_text({"val_loss": [0.3, 0.1, 0.2]})
    assert "3 epochs" in single and "(2) is kept" in single


def test_touching_numbers_are_off_by_default_and_added_after_every_other_kind(train_detector):
    digits, labels = np.arange(2000 * 28 * 28).reshape(2000, 28, 28).astype(np.uint8), np.arange(2000) % 10
    shipped = train_detector.tasks_for(digits, labels, 0.1, 7)
    added = train_detector.tasks_for(digits, labels, 0.1, 7, touching=6000)
    assert "touching_digits" not in {task[0] for task in shipped}
    extra = added[len(shipped) :]
    assert {task[0] for task in extra} == {"touching_digits"}
    assert sum(task[1] for task in extra) == 600 and all(task[3] is not None for task in extra)
    for before, after in zip(shipped, added):  # every earlier chunk keeps its images, counts and seeds
        assert before[0] == after[0] and before[2] == after[2]
        if before[0] == "rendered":
            assert np.array_equal(before[1][0], after[1][0])
        else:
            assert before[1] == after[1]
            assert (before[3] is None and after[3] is None) or np.array_equal(before[3], after[3])


def test_a_cache_made_with_other_options_is_refused_not_reused(train_detector, tmp_path, capfd):
    sets = {"train_rendered": np.zeros((2, 28, 28), np.uint8), "validation_negative": np.ones((1, 28, 28), np.uint8)}
    np.savez_compressed(tmp_path / "images.npz", **sets, made_with=np.array([1.0, 0.0, 2.0]))
    reused = train_detector.build_images(tmp_path, 1.0, 0)
    assert sorted(reused) == sorted(sets) and (reused["validation_negative"] == 1).all()
    with pytest.raises(SystemExit) as exit:
        train_detector.build_images(tmp_path, 1.0, 6000)
    assert exit.value.code == 2
    line = capfd.readouterr().err.strip()
    assert line.endswith(
        "holds images made with --scale 1 --touching-numbers 0, not --scale 1 --touching-numbers 6000: "
        "use another --out or those options"
    )
    np.savez_compressed(tmp_path / "images.npz", **sets, made_with=np.array([0.5, 100.0, 2.0]))
    assert sorted(train_detector.build_images(tmp_path, 0.5, 100)) == sorted(sets)
    with pytest.raises(SystemExit):
        train_detector.build_images(tmp_path, 1.0, 100)


@pytest.mark.parametrize("made_with", [None, [1.0, 0.0], [1.0, 0.0, 1.0]])
def test_a_cache_without_the_marker_and_bold_printed_kinds_is_refused(train_detector, tmp_path, capfd, made_with):
    sets = {"train_rendered": np.zeros((2, 28, 28), np.uint8)}
    extra = {} if made_with is None else {"made_with": np.array(made_with)}
    np.savez_compressed(tmp_path / "images.npz", **sets, **extra)  # None: written before options were stored
    with pytest.raises(SystemExit) as exit:
        train_detector.build_images(tmp_path, 1.0, 0)
    assert exit.value.code == 2
    assert (
        capfd.readouterr().err.strip().endswith("holds images of an older set of kinds (version 1): use another --out")
    )


def test_bold_printed_digits_have_strokes_two_to_four_times_mnists_proportion(train_detector, monkeypatch):
    from mnist_cnn.preprocessing import digit

    monkeypatch.setattr(train_detector.outliers, "ink_on_paper", lambda alpha, rng: (alpha * 255).astype(np.uint8))
    regular = [Path(font) for font in train_detector.outliers.TRAINING_FONTS if Path(font).name == "DejaVuSans.ttf"]

    def proportion(mask):  # stroke width over the digit's height, in MNIST's proportions
        rows = np.flatnonzero(mask.any(axis=1))
        return digit.stroke_width(mask) / (rows[-1] - rows[0] + 1) / digit.STROKE_RATIO

    for seed in range(10):
        plain = train_detector.outliers.font_glyph(str(seed), regular[0], 120, np.random.default_rng(seed)) > 0.5
        bold = np.asarray(train_detector.bold_printed(seed, np.random.default_rng(seed), regular)) > 127
        assert proportion(plain) < 1.3  # the regular face is near MNIST's own proportion ...
        assert 1.7 <= proportion(bold) <= 4.4, (seed, proportion(bold))  # ... and dilated to 2-4 times it


def test_every_rendered_kind_gives_a_preprocessed_digit(train_detector, monkeypatch):
    from mnist_cnn import data

    fonts = [Path(font) for font in train_detector.outliers.TRAINING_FONTS]  # Debian's may not be installed
    monkeypatch.setattr(train_detector, "printed_fonts", lambda: fonts)
    dataset = data.load_dataset("mnist")
    digits, labels = dataset.train_images[:24], dataset.train_labels[:24]
    rng = np.random.default_rng(3)
    made = train_detector.render_digits(digits, labels, rng)
    assert made.dtype == np.uint8 and made.shape[1:] == (28, 28)
    assert len(made) >= 22  # two of each of the 12 kinds; preprocessing may find one blank
    assert train_detector.RENDERED_KINDS == 12


def test_training_goes_on_from_a_combined_detector_and_stays_combined(train_detector, tmp_path):
    rng = np.random.default_rng(0)
    pair = tmp_path / "pair"
    pair.mkdir()
    train_detector.combine([saved_detector(tmp_path / f"run{seed}", seed) for seed in (1, 2)]).save(
        pair / "model.keras"
    )
    digits = rng.integers(0, 255, (40, 28, 28)).astype(np.uint8)
    sets = {
        "train_mnist": digits[:16],
        "train_rendered": digits[16:20],
        "train_negative": digits[20:32],
        "validation_mnist": digits[32:35],
        "validation_rendered": digits[35:37],
        "validation_negative": digits[37:],
    }
    out = tmp_path / "out"
    out.mkdir()
    detector, history = train_detector.fit(sets, out, 1, pair / "model.keras")
    assert detector.get_layer("mean_logit") is not None and len(history["val_loss"]) == 1
    import keras

    before = keras.models.load_model(pair / "model.keras", compile=False).get_weights()
    after = keras.models.load_model(out / "model.keras", compile=False).get_weights()
    assert [w.shape for w in before] == [w.shape for w in after]
    assert any(not np.allclose(b, a) for b, a in zip(before, after))  # it trained


def test_the_card_says_what_a_detector_went_on_from(train_detector, tmp_path):
    start = tmp_path / "e67"
    start.mkdir()
    (start / "thresholds.json").write_text('{"command": "python scripts/train_detector.py --combine a b"}')
    history = {"val_loss": [0.3, 0.1], "start": train_detector.started_from(start / "model.keras")}
    text = train_detector.training_text(history)
    assert "2 epochs" in text and "(2) is kept" in text
    assert "Went on from" in text and "(made by `python scripts/train_detector.py --combine a b`)" in text


def scores_of_kinds(rng, floors: list[float], count: int = 500):
    """Rendered digits' scores of len(floors) kinds, all read right: a share ``floor`` of each kind
    below every threshold (0.001), 2% spread evenly over 0.0105-0.5 and the rest at 0.95; MNIST's
    scores 0.9-1. A point of each kind is refused at 0.28 (5 of 500), 1.2% at 0.29."""
    rendered, kinds = [], []
    for kind, floor in enumerate(floors):
        low, spread = int(round(floor * count)), int(0.02 * count)
        scores = [np.full(low, 0.001), np.linspace(0.0105, 0.5, spread), np.full(count - low - spread, 0.95)]
        rendered.append(np.concatenate(scores))
        kinds.append(np.full(count, kind))
    rendered, kinds = np.concatenate(rendered), np.concatenate(kinds)
    return rng.uniform(0.9, 1, 6000), rendered, kinds, np.ones(len(rendered), bool)


def test_the_digit_threshold_costs_each_kind_at_most_a_point_beyond_what_it_refuses_at_the_lowest(train_detector):
    rng = np.random.default_rng(0)
    mnist, rendered, kinds, right = scores_of_kinds(rng, [0.0, 0.0, 0.008])  # 0.8% refused at every level
    chosen = train_detector.digit_threshold(mnist, rendered, kinds, right)
    assert chosen["digit"] == 0.28  # counted from 0 (the rule before), kind 2 left room for one digit: 0.06
    assert chosen["floors"] == {0: 0.0, 1: 0.0, 2: 0.008}
    assert chosen["refused"] == {0: 0.01, 1: 0.01, 2: 0.018}
    fine = train_detector.digit_threshold(*scores_of_kinds(rng, [0.0, 0.0, 0.0]))
    assert fine["digit"] == chosen["digit"]  # the floor only moves where the budget starts
    heavy = train_detector.digit_threshold(*scores_of_kinds(rng, [0.0, 0.03, 0.0]))
    assert heavy["digit"] == 0.28 and heavy["floors"][1] == 0.03  # 3% at every level: still 0.28


def test_the_digit_threshold_keeps_mnists_coverage_and_counts_only_digits_read_right(train_detector):
    rng = np.random.default_rng(1)
    mnist, rendered, kinds, right = scores_of_kinds(rng, [0.0, 0.0])
    mnist = np.concatenate([mnist[:5950], np.full(50, 0.05)])  # 0.8% of MNIST's scores at 0.05
    assert train_detector.digit_threshold(mnist, rendered, kinds, right)["digit"] == 0.05
    misread = rendered > 0.5  # the spread digits are read wrong: refusing them costs nothing
    loose = train_detector.digit_threshold(rng.uniform(0.9, 1, 6000), rendered, kinds, misread)
    assert loose["digit"] == 0.9 and all(share == 0.0 for share in loose["refused"].values())  # MNIST's limit
    no_right = misread & (kinds == 0)  # kind 1 has no digit read right: it has nothing to lose
    assert set(train_detector.digit_threshold(mnist, rendered, kinds, no_right)["floors"]) == {0}


def test_the_card_names_the_kinds_the_detector_refuses_at_every_threshold(train_detector):
    text = train_detector.floors_text({"read_right_refused_per_kind_at_0.01": {"hairline": 0.0245, "printed": 0.002}})
    assert "hairline 2.5%" in text and "printed" not in text
    assert train_detector.floors_text({"read_right_refused_per_kind_at_0.01": {"printed": 0.002}}) == ""
    assert train_detector.floors_text({}) == ""
