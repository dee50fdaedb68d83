"""The network of the bundled model: encoder, descriptor head, optional lookalike head, decoder.

Network (``arch["kind"] == "ae"``):

* encoder: ``len(widths)`` stride-2 blocks; each is one 3x3 conv + BN + ReLU, optionally followed by
  ``extra[i]`` residual depthwise-separable blocks (3x3 depthwise + 1x1 pointwise) at the same width;
* descriptor head (``arch["embed"] == "head"``): GeM pooling of the last feature map, a linear projection to
  ``embedding_size`` and L2 normalisation (SSCD-style);
  or (``"latent"``, the plain-autoencoder baseline) the flattened bottleneck code, L2-normalised;
* lookalike head (optional, ``arch["look"] = {"hidden": H, "dim": D}``): GeM pooling of every encoder
  stage, each L2-normalised and concatenated, then Linear-ReLU-Linear to ``D`` and L2 normalisation. It is
  trained (``imgsim train-lookalike``) on crops of one photo, for "the same kind of picture", while the
  descriptor head stays trained for "the same photo". The model's vector is then the two side by side:
  ``[duplicates | lookalikes]``, each part unit-length; ``LoadedModel.spaces`` says which columns are which,
  and the library keeps one index per part;
* decoder: mirrored, nearest-neighbour 2x upsampling + 3x3 conv + BN + ReLU per block, then a 3x3 conv to RGB
  and a sigmoid (pixels in 0..1). It rebuilds the clean photo from the code of the (edited) input, at
  ``code_side * 2 ** len(dec_widths)`` pixels (input size when it has as many blocks as the encoder; one block
  fewer halves the resolution and most of the decoder's cost).
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ModelError

# The architecture the shipped model uses (training's default). Tests use much smaller ones.
DEFAULT_ARCH: dict[str, Any] = {
    "kind": "ae",
    "widths": [32, 64, 128, 256],
    "extra": [0, 1, 1, 1],
    "dec_widths": [128, 64, 32, 16],
    "embed": "head",          # "head": GeM + projection; "latent": flattened bottleneck (plain AE baseline)
    "latent_channels": 0,     # >0: a 1x1 conv squeezes the bottleneck to this many channels
    "gem_p": 3.0,
}


def _torch():
    import torch  # imported lazily so `import imgsim_desktop.core.model` stays cheap
    return torch


def full_arch(arch: dict | None = None, **overrides) -> dict:
    a = copy.deepcopy(DEFAULT_ARCH)
    a.update(copy.deepcopy(arch or {}))
    a.update(overrides)
    n = len(a["widths"])
    extra = list(a.get("extra") or [])
    a["extra"] = (extra + [0] * n)[:n]
    if not a.get("dec_widths"):
        a["dec_widths"] = [max(8, w // 2) for w in reversed(a["widths"])]
    if not 1 <= len(a["dec_widths"]) <= n:  # fewer stages than the encoder: the decoder works at lower resolution
        raise ModelError(f"architecture: dec_widths must have 1..{n} entries")
    return a


def build_network(arch: dict, input_size: int, embedding_size: int):
    """Build the autoencoder described by ``arch`` (see module docstring)."""
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class ConvBNAct(nn.Sequential):
        def __init__(self, cin, cout, k=3, stride=1, groups=1, act=True):
            layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
            if act:
                layers.append(nn.ReLU(inplace=True))
            super().__init__(*layers)

    class DWResBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dw = ConvBNAct(c, c, 3, 1, groups=c)
            self.pw = ConvBNAct(c, c, 1, act=False)

        def forward(self, x):
            return F.relu(x + self.pw(self.dw(x)), inplace=True)

    class GeM(nn.Module):
        def __init__(self, p=3.0, eps=1e-6):
            super().__init__()
            self.p = nn.Parameter(torch.tensor([float(p)]))
            self.eps = eps

        def forward(self, x):
            p = self.p.clamp(min=1.0)
            return x.clamp(min=self.eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)

    class ImgsimNet(nn.Module):
        def __init__(self):
            super().__init__()
            widths = list(arch["widths"])
            n = len(widths)
            if input_size % (2 ** n):
                raise ModelError(f"architecture: input_size {input_size} is not a multiple of {2 ** n}")
            self.embed_mode = arch.get("embed", "head")
            blocks = []
            cin = 3
            for w, k in zip(widths, arch["extra"]):
                stage = [ConvBNAct(cin, w, 3, 2)] + [DWResBlock(w) for _ in range(int(k))]
                blocks.append(nn.Sequential(*stage))
                cin = w
            self.encoder = nn.Sequential(*blocks)
            lc = int(arch.get("latent_channels") or 0)
            self.squeeze = ConvBNAct(cin, lc, 1) if lc > 0 else nn.Identity()
            code_c = lc if lc > 0 else cin
            self.code_channels = code_c
            self.code_side = input_size // (2 ** n)
            if self.embed_mode == "head":
                self.pool = GeM(arch.get("gem_p", 3.0))
                self.proj = nn.Linear(cin, embedding_size)
                self.out_dim = embedding_size
                self.dup_dim = embedding_size
            elif self.embed_mode == "latent":
                self.out_dim = code_c * self.code_side * self.code_side
            else:
                raise ModelError(f"architecture: unknown embed mode {self.embed_mode!r}")
            dec = []
            c = code_c
            for w in arch["dec_widths"]:
                dec += [nn.Upsample(scale_factor=2, mode="nearest"), ConvBNAct(c, w, 3)]
                c = w
            dec += [nn.Conv2d(c, 3, 3, 1, 1)]
            self.decoder = nn.Sequential(*dec)

            look = arch.get("look") or None
            self.look = None
            if look:
                if self.embed_mode != "head":
                    raise ModelError("architecture: a lookalike head needs the descriptor head (embed='head')")
                h, d = int(look["hidden"]), int(look["dim"])
                a = int(look.get("adapter") or 0)
                # an optional 1x1 adapter over the last stage, read in place of that stage's plain GeM
                self.look_adapt = nn.Sequential(nn.Conv2d(widths[-1], a, 1), nn.ReLU()) if a else None
                d_in = sum(widths) - widths[-1] + (a or widths[-1])
                self.look_pool = look.get("pool", "gem")
                if self.look_pool == "rich":  # the last stage also through std, max and a 2x2 grid
                    d_in += 6 * widths[-1]
                elif self.look_pool != "gem":
                    raise ModelError(f"architecture: unknown lookalike pooling {self.look_pool!r}")
                self.look = nn.Sequential(nn.Linear(d_in, h), nn.ReLU(inplace=True), nn.Linear(h, d))
                self.look_dim = d
                self.out_dim = self.out_dim + d

        def features(self, x):
            return self.encoder(x)

        def stages(self, x):
            """Every encoder stage's output (the last one is ``features(x)``)."""
            out = []
            for blk in self.encoder:
                x = blk(x)
                out.append(x)
            return out

        def look_input(self, stages):
            """Per-stage GeM (p=3), each L2-normalised, concatenated: what the lookalike head reads (the last
            stage through its adapter, when the head has one)."""
            adapt = getattr(self, "look_adapt", None)
            last = stages[-1]
            if adapt is not None:
                stages = list(stages[:-1]) + [adapt(stages[-1])]
            pooled = torch.cat([F.normalize(s.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1.0 / 3), dim=1)
                                for s in stages], dim=1)
            if getattr(self, "look_pool", "gem") == "rich":
                pooled = torch.cat([pooled, rich_pool(last)], dim=1)
            return pooled

        def head(self, feats):
            """Unnormalised descriptor from the encoder's feature map."""
            if self.embed_mode == "head":
                return self.proj(self.pool(feats))
            return self.squeeze(feats).flatten(1)

        def decode(self, feats):
            return torch.sigmoid(self.decoder(self.squeeze(feats)))

        def embed(self, x):
            if self.look is None:
                return F.normalize(self.head(self.features(x)), dim=1)
            st = self.stages(x)
            dup = F.normalize(self.head(st[-1]), dim=1)
            return torch.cat([dup, F.normalize(self.look(self.look_input(st)), dim=1)], dim=1)

        def forward(self, x):
            f = self.features(x)
            return self.head(f), self.decode(f)

    return ImgsimNet()


def rich_pool(m):
    """What a plain GeM of the last stage loses, for the lookalike head: each channel's spread (std) and
    peak (max), and a GeM per quarter of the frame (where things are), each part unit-length. (N,C,H,W) ->
    (N, 6C). Cheap: the map is 7x7 at 112 px."""
    torch = _torch()
    F = torch.nn.functional
    flat = m.flatten(2)
    grid = F.adaptive_avg_pool2d(m.clamp(min=1e-6).pow(3), 2).pow(1.0 / 3).flatten(2)
    return torch.cat([F.normalize(flat.std(dim=2), dim=1), F.normalize(flat.amax(dim=2), dim=1),
                      F.normalize(grid, dim=1).flatten(1) / 2], dim=1)


def count_parameters(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
