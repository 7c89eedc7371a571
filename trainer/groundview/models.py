"""The four networks. Small on purpose: each must run in a few milliseconds on one CPU core."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """ResNet basic block with a 1x1 projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, stride)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.c2(self.c1(x))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class SmallResNet(nn.Module):
    """Image -> pooled embedding -> logits. Stem stride 2, then four stages."""

    def __init__(self, n_out: int, widths=(32, 64, 128, 256), depths=(1, 1, 2, 1), dropout: float = 0.2):
        super().__init__()
        layers = [conv_bn(3, widths[0], 3, 2)]
        cin = widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            for j in range(d):
                layers.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.trunk = nn.Sequential(*layers)
        self.embed_dim = cin
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(cin, n_out)

    def embed(self, x):
        return F.adaptive_avg_pool2d(self.trunk(x), 1).flatten(1)

    def forward(self, x):
        return self.head(self.drop(self.embed(x)))


class Generator(nn.Module):
    """Latent (d) -> 128x128 RGB in [-1, 1]; nearest-upsample + conv blocks, a transposed conv last."""

    def __init__(self, latent_dim: int, widths=(128, 96, 64, 32, 16)):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc = nn.Linear(latent_dim, widths[0] * 4 * 4)
        self.w0 = widths[0]
        blocks = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]
        self.blocks = nn.Sequential(*blocks)                  # 4 -> 64
        self.out = nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1)   # 64 -> 128

    def forward(self, z):
        x = F.leaky_relu(self.fc(z), 0.2).view(-1, self.w0, 4, 4)
        return torch.tanh(self.out(self.blocks(x)))


class PhotoEncoder(nn.Module):
    """Ground photo (64x64) -> (mu, logvar): the VAE half used only while training the generator."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.net = SmallResNet(2 * latent_dim, widths=(32, 64, 128, 192), depths=(1, 1, 1, 1), dropout=0.0)
        self.d = latent_dim

    def forward(self, x):
        h = self.net(x)
        return h[:, : self.d], h[:, self.d:].clamp(-8, 8)


class Discriminator(nn.Module):
    """128x128 image -> realness logits map (PatchGAN-style), spectral-normalised."""

    def __init__(self, widths=(16, 32, 64, 128)):
        super().__init__()
        sn = nn.utils.spectral_norm
        layers, cin = [], 3
        for w in widths:
            layers += [sn(nn.Conv2d(cin, w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            cin = w
        layers.append(sn(nn.Conv2d(cin, 1, 3, 1, 1)))        # 8x8 patch logits
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Encoder(nn.Module):
    """Satellite tile -> latent in the generator's space; same trunk shape as the terrain classifier."""

    def __init__(self, latent_dim: int, widths=(32, 64, 128, 256), depths=(1, 1, 2, 1)):
        super().__init__()
        self.backbone = SmallResNet(latent_dim, widths, depths, dropout=0.0)

    def forward(self, x):
        return self.backbone(x)


class ClassifierExport(nn.Module):
    """Wraps a classifier so the ONNX graph outputs softmax probabilities (and the embedding)."""

    def __init__(self, model: SmallResNet, with_embedding: bool):
        super().__init__()
        self.model, self.with_embedding = model, with_embedding

    def forward(self, x):
        e = self.model.embed(x)
        p = torch.softmax(self.model.head(e), dim=1)
        return (p, e) if self.with_embedding else p


class JudgeNet(nn.Module):
    """An independent scene classifier for judging generated landscapes: a plain (non-residual)
    CNN with GroupNorm and GELU, unlike SmallResNet, trained from its own seed. Neither the
    generator nor the encoder ever trains against it."""

    def __init__(self, n_out: int, widths=(32, 64, 128, 192), dropout: float = 0.2):
        super().__init__()

        def conv(cin, cout, stride=1):
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(8, cout), nn.GELU()]

        w0, w1, w2, w3 = widths
        self.trunk = nn.Sequential(*conv(3, w0, 2), *conv(w0, w0), nn.MaxPool2d(2),
                                   *conv(w0, w1), *conv(w1, w1), nn.MaxPool2d(2),
                                   *conv(w1, w2), *conv(w2, w2), nn.MaxPool2d(2),
                                   *conv(w2, w3))
        self.embed_dim = w3
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(w3, n_out)

    def embed(self, x):
        return F.adaptive_avg_pool2d(self.trunk(x), 1).flatten(1)

    def forward(self, x):
        return self.head(self.drop(self.embed(x)))
