"""Writes docs/examples/src/main/resources/org/losskit/examples/linear_logits.onnx: the small model of the ONNX Runtime
example, a linear layer from 16 features to 10 class logits (batch size free), with fixed weights.

    /usr/bin/python3 docs/examples/src/main/python/make_linear_logits_onnx.py    (Debian's python3-torch, PyTorch 1.13)

Input "features" float32 [batch, 16]; output "logits" float32 [batch, 10] = features @ W^T + b."""
import pathlib

import torch

FEATURES, CLASSES = 16, 10

torch.manual_seed(20261130)
model = torch.nn.Linear(FEATURES, CLASSES)
model.eval()
out = pathlib.Path(__file__).resolve().parents[1] / "resources" / "org" / "losskit" / "examples" / "linear_logits.onnx"
torch.onnx.export(model, torch.randn(2, FEATURES), str(out), input_names=["features"], output_names=["logits"],
                  dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
print(f"wrote {out} ({out.stat().st_size} bytes)")
