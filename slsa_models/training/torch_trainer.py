"""Train a registered architecture with PyTorch (CPU)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slsa_models.training.data import Split, accuracy

if TYPE_CHECKING:
    import torch

    from slsa_models.training.registry import Architecture


def train_torch(
    arch: Architecture, split: Split, *, epochs: int, seed: int
) -> tuple[torch.nn.Module, float]:
    """Seeded mini-batch Adam; accuracy on the held-out part. Returns the model in eval mode.

    The global torch generator is seeded inside ``fork_rng`` so training is
    reproducible without changing the caller's random state.
    """
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = arch.build_torch()
        order_generator = torch.Generator().manual_seed(seed)
        inputs = torch.from_numpy(split.train_x)
        labels = torch.from_numpy(split.train_y)
        optimizer = torch.optim.Adam(model.parameters(), lr=arch.LEARNING_RATE)
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(inputs), generator=order_generator)
            for batch in order.split(arch.BATCH_SIZE):
                optimizer.zero_grad()
                loss_fn(model(inputs[batch]), labels[batch]).backward()
                optimizer.step()
    model.eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(split.test_x)).numpy()
    return model, accuracy(scores, split.test_y)
