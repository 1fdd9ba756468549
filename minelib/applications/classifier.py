"""The one MNIST classifier of the applications (data: :mod:`minelib.mnist`): a small CNN, trained by the
library on a training split, used to count Stacked MNIST modes (one prediction per channel) and to score
reconstructions (the class of a reconstruction should be the class of its input).

``classifier(source)`` trains it once per data set and caches the weights in the library's data folder,
keyed by the training split's checksum, so every chapter uses the same network.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn
from tqdm.auto import trange

from minelib._checks import device_value, in_open_interval, positive_int, seed_value, seeded
from minelib.mnist import MNIST, data_dir, load_mnist


class DigitCNN(nn.Module):
    """Two 3 × 3 convolutions (16 and 32 channels, each followed by ReLU and 2 × 2 max-pooling), a hidden
    layer of 128 units, 10 logits. Input: ``(n, 1, 28, 28)`` floats in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _as_input(images: np.ndarray, device) -> torch.Tensor:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must be (n, 28, 28), got shape {images.shape}")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return torch.as_tensor(images, dtype=torch.float32, device=device).unsqueeze(1) / scale


def train_classifier(
    data: MNIST,
    *,
    epochs: int = 12,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> DigitCNN:
    """Train :class:`DigitCNN` on ``data`` (a training split from :func:`minelib.mnist.load_mnist`) with Adam."""
    epochs, batch_size = positive_int("epochs", epochs), positive_int("batch_size", batch_size)
    in_open_interval("lr", lr, 0.0, float("inf"))
    device = device_value("device", device)
    gen = torch.Generator().manual_seed(seed_value("seed", seed))
    with seeded(seed, torch.device("cpu")):  # the initialisation, from torch's global generator (restored after)
        model = DigitCNN().to(device)
    x, y = _as_input(data.images, device), torch.as_tensor(data.labels.astype(np.int64), device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in trange(epochs, disable=not progress, desc="MNIST classifier", leave=False):
        order = torch.randperm(len(y), generator=gen).to(device)
        for i in range(0, len(y), batch_size):
            rows = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def probabilities(model: DigitCNN, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The classifier's class probabilities, ``(n, 10)``; uint8 images in 0..255 or floats in [0, 1]."""
    device = next(model.parameters()).device
    x = _as_input(images, device)
    logits = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    return torch.softmax(logits.double(), 1).cpu().numpy()


def predict(model: DigitCNN, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The predicted class of each image, ``(n,)`` integers; uint8 images in 0..255 or floats in [0, 1]."""
    return probabilities(model, images, batch_size).argmax(1)


def accuracy(model: DigitCNN, data: MNIST) -> float:
    """The share of ``data``'s images whose predicted class is their label."""
    return float(np.mean(predict(model, data.images) == data.labels))


def classifier(source: str = "subset", device: str | torch.device | None = None) -> DigitCNN:
    """The shared classifier for ``source``'s training split: trained once, then loaded from the data folder."""
    train = load_mnist(source, "train")
    path = data_dir() / f"mnist-cnn-{train.source}-{train.checksum}.pt"
    device = device_value("device", device)
    if path.exists():
        model = DigitCNN()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.to(device).eval()
    model = train_classifier(train, device=device)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")  # written whole, then renamed: another process
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, partial)  # never reads a half-written file
    os.replace(partial, path)
    return model
