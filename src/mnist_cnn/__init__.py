"""mnist-cnn: train, evaluate, explain and serve convolutional digit classifiers on MNIST."""

__version__ = "0.1.0"


def load_model(name_or_path=None, runtime=None):
    """Load a shipped model by name or a .keras/.h5 file; see ``mnist_cnn.prediction.load_model``."""
    from mnist_cnn.prediction import load_model as _load_model

    return _load_model(name_or_path, runtime=runtime)


def predict(images, model=None):
    """Predict digits in paths, PIL images or arrays; see ``mnist_cnn.prediction.predict``."""
    from mnist_cnn.prediction import predict as _predict

    return _predict(images, model=model)


__all__ = ["load_model", "predict", "__version__"]
