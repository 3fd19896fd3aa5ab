"""Tests for soundad.extract_loop.BatchLoop: fixed batches across clip boundaries, each clip's rows handed back."""

import numpy as np
import torch

from soundad.backbones import BackboneConfig
from soundad.extract_loop import BatchLoop, LoadedModel
from soundad.extract_settings import resolve_settings
from soundad.features import ImageConfig, MelConfig, WindowConfig, draw_images, normalised_lut


class MeanColour(torch.nn.Module):
    """A stand-in backbone: the mean of each image channel (3 features), per image."""

    feature_dim = 3
    mean = (0.5, 0.5, 0.5)
    std = (0.25, 0.25, 0.25)

    def forward(self, images):
        return images.mean(dim=(2, 3))


def test_batches_cut_across_clips_and_every_clip_gets_its_own_rows():
    settings = resolve_settings(BackboneConfig(name="resnet18", weights="random", device="cpu", batch_size=3),
                                mel=MelConfig(), window=WindowConfig(length=8, hop=4), image=ImageConfig(size=32),
                                channel=0)
    model, sizes = MeanColour(), []

    def forward(images):
        sizes.append(int(images.shape[0]))
        return model(images)

    got = {}
    loop = BatchLoop(LoadedModel(model=model, forward=forward, seconds=0.0), settings,
                     lambda idx, feats: got.__setitem__(idx, feats))
    rng = np.random.default_rng(0)
    rows = [2, 0, 4, 1]  # clip 1 has no windows
    windows = [torch.from_numpy(rng.uniform(-80, 0, (n, 16, 8)).astype(np.float32)) for n in rows]
    loop.add(0, rows[:2], torch.cat(windows[:2]))
    loop.add(2, rows[2:], torch.cat(windows[2:]))
    loop.flush()

    assert sizes == [3, 3, 1] and loop.computed_windows == 7
    assert sorted(got) == [0, 1, 2, 3]
    lut = normalised_lut("viridis", mean=model.mean, std=model.std)
    for idx, clip_windows in enumerate(windows):
        assert got[idx].shape == (rows[idx], 3) and got[idx].dtype == np.float32
        with torch.inference_mode():
            expected = model(draw_images(clip_windows, lut, config=settings.image, channels_last=True)).numpy()
        np.testing.assert_allclose(got[idx], expected, rtol=1e-6, atol=1e-7)
        assert got[idx].base is None  # its own array, not a view that keeps a whole batch alive
