"""One model call at a time for many threads, batching the images of requests that arrive meanwhile."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from mnist_cnn.runtimes import Classifier

# The Keras runtime calls the model directly up to 64 images and switches to predict() above that,
# whose set-up costs more than the batch saves; no request waits behind more than one such call.
COMBINED_BATCH = 64


class Job:
    """One caller's images and, once a model call has covered them, their probabilities or its error."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.probabilities: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingClassifier:
    """A Classifier for concurrent callers: ``probabilities`` may be called from many threads at once.

    Model runtimes are not all safe to call from several threads, and one call on a batch costs little
    more than a call on one image. So callers queue their images; whichever caller holds the model lock
    runs one call on everything queued (up to COMBINED_BATCH images) and hands each caller its rows. A
    caller whose images were covered by another caller's call returns as soon as it gets the lock.
    No thread runs in the background, so it works under any event loop or none.
    """

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        self.name = classifier.name
        self.runtime = classifier.runtime
        self.path = classifier.path
        self.queue: deque[Job] = deque()
        self.queue_lock = threading.Lock()
        self.model_lock = threading.Lock()

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """uint8 (n, 28, 28) -> float32 (n, 10), as ``Classifier.probabilities``."""
        job = Job(np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28))
        with self.queue_lock:
            self.queue.append(job)
        while not job.done:
            with self.model_lock:
                if not job.done:
                    self.run(self.take())
        if job.error is not None:
            raise job.error
        return job.probabilities

    def take(self) -> list[Job]:
        """The oldest queued jobs, up to COMBINED_BATCH images (always at least one job)."""
        jobs, count = [], 0
        with self.queue_lock:
            while self.queue and (not jobs or count + len(self.queue[0].images) <= COMBINED_BATCH):
                jobs.append(self.queue.popleft())
                count += len(jobs[-1].images)
        return jobs

    def run(self, jobs: list[Job]) -> None:
        try:
            rows = self.classifier.probabilities(np.concatenate([job.images for job in jobs]))
        except Exception as error:  # every caller in the batch gets the error, not only the one that ran it
            for job in jobs:
                job.error, job.done = error, True
            return
        start = 0
        for job in jobs:
            job.probabilities, job.done = rows[start : start + len(job.images)], True
            start += len(job.images)

    def warm_up(self) -> None:
        """Run one call so the first request does not pay for kernel selection and memory set-up."""
        self.probabilities(np.zeros((1, 28, 28), dtype=np.uint8))
