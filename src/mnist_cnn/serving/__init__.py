"""``mnist-cnn serve``: a page to draw digits on and an HTTP API, one FastAPI application (``app.py``)."""
