"""mnist-cnn: train, evaluate, explain and serve convolutional digit classifiers on MNIST."""

__version__ = "0.1.0"


def load_model(name_or_path=None, runtime=None):
    """Load a shipped model by name or a .keras/.h5 file; see ``mnist_cnn.runtimes.load_model``."""
    from mnist_cnn.runtimes import load_model as _load_model

    return _load_model(name_or_path, runtime=runtime)


def predict(images, model=None, accept_all=False, mode="auto"):
    """Predict the digit, or the number, in paths, PIL images or arrays, each with its status ("digit",
    "unsure" or "not_a_digit"; ``accept_all`` turns rejection off; ``mode``: "auto", "single" or
    "number"); see ``mnist_cnn.prediction.predict``."""
    from mnist_cnn.prediction import predict as _predict

    return _predict(images, model=model, accept_all=accept_all, mode=mode)


__all__ = ["load_model", "predict", "__version__"]
