"""CUDA-only forward-pass options (soundad.cuda_forward): CPU behaviour here, GPU checks skip without CUDA."""

import numpy as np
import pytest
import torch

from soundad.cuda_forward import cuda_options, make_forward
from soundad.errors import ParameterError

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def test_options_are_ignored_with_a_warning_off_cuda():
    with pytest.warns(UserWarning, match="CUDA only"):
        assert cuda_options(torch.device("cpu"), autocast=True, compile_mode="reduce-overhead") == (False, None)
    assert cuda_options(torch.device("cpu"), autocast=False, compile_mode=None) == (False, None)
    with pytest.raises(ParameterError, match="compile_mode"):
        cuda_options(torch.device("cpu"), autocast=False, compile_mode="fastest")


def test_padding_to_the_batch_size_keeps_the_rows():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    images = torch.randn(3, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        padded = make_forward(model, batch_size=8, pad=True)(images)
        plain = model(images)
    assert padded.shape == (3, 4) and padded.dtype == torch.float32
    torch.testing.assert_close(padded, plain, atol=1e-6, rtol=1e-5)


def test_extract_features_on_cpu_ignores_cuda_options(tmp_path):
    from soundad.extract import extract_features
    from test_extract import FAST, write_clips

    clips = write_clips(tmp_path / "audio", n=1)
    with pytest.warns(UserWarning, match="CUDA only"):
        wf = extract_features(clips, batch_size=4, num_workers=0, autocast=True, compile_mode="default", **FAST)
    assert "autocast" not in wf.settings["numerics"]


@needs_cuda
@pytest.mark.parametrize("options", [dict(autocast=True), dict(autocast=True, compile_mode="reduce-overhead")])
def test_cuda_options_keep_features_close(tmp_path, options):
    from soundad.extract import extract_features
    from test_extract import write_clips

    clips = write_clips(tmp_path / "audio", n=3, seconds=4.0)
    kw = dict(backbone="efficientnet_lite0", weights="imagenet", device="cuda", progress=False, batch_size=16)
    ref = extract_features(clips, **kw)
    got = extract_features(clips, **kw, **options)
    assert got.settings["numerics"]["autocast"] is True
    rel = np.linalg.norm(got.features - ref.features, axis=1) / np.linalg.norm(ref.features, axis=1)
    assert rel.max() < 2e-2  # float16 products
