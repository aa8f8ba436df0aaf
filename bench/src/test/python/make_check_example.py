"""Writes bench/src/test/resources/check/cross_entropy_torch.npz: a small cross-entropy case computed by PyTorch,
for the README's `bench/run check` example and NpyCheckTest.

    /usr/bin/python3 bench/src/test/python/make_check_example.py     (Debian's python3-torch, PyTorch 1.13)

Entries: input (float32 5x11 logits), target (int64 class indices, one -100 = ignored), weight (float32 class
weights), op, reduction (byte strings, dtype S: the Java reader does not read NumPy's unicode dtype U),
ignore_index (int64), label_smoothing (float64), loss (float32, what PyTorch returned) and grad (float32,
d loss / d input). Everything is float32 as a PyTorch user would have it.
Scalars are saved with shape (1,): the Java reader (org.jetbrains.bio:npy) does not read 0-d arrays."""
import pathlib

import numpy as np
import torch

torch.manual_seed(20261130)
rows, classes = 5, 11
logits = (3 * torch.randn(rows, classes)).requires_grad_(True)
target = torch.randint(0, classes, (rows,), dtype=torch.int64)
target[2] = -100
weight = torch.rand(classes) + 0.5
loss = torch.nn.functional.cross_entropy(logits, target, weight=weight, ignore_index=-100,
                                         label_smoothing=0.1, reduction="mean")
loss.backward()

out = pathlib.Path(__file__).resolve().parents[1] / "resources" / "check" / "cross_entropy_torch.npz"
np.savez(out,
         input=logits.detach().numpy(), target=target.numpy(), weight=weight.numpy(),
         op=np.array([b"cross_entropy"]), reduction=np.array([b"mean"]),
         ignore_index=np.array([-100], dtype=np.int64), label_smoothing=np.array([0.1]),
         loss=loss.detach().numpy().reshape(1), grad=logits.grad.numpy())
print(f"wrote {out}: loss {loss.item():.7f}")
