"""Tests of soundad.params: plain parameter rules of the detectors and autoencoders."""

import inspect

import numpy as np
import pytest

from soundad.autoencoders import ConvAutoencoderDetector, DenseAutoencoderDetector
from soundad.detectors import (
    ClampedPCA,
    GaussianMixtureDetector,
    KNNDetector,
    MahalanobisDetector,
    OneClassSVMDetector,
)
from soundad.errors import ParameterError
from soundad.params import BOOLEAN, RANDOM_STATE, InstanceOf, Interval, Options, check_params

ESTIMATORS = [
    GaussianMixtureDetector,
    OneClassSVMDetector,
    KNNDetector,
    MahalanobisDetector,
    ClampedPCA,
    DenseAutoencoderDetector,
    ConvAutoencoderDetector,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_constructor_parameter_has_rules_and_defaults_obey_them(cls):
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(cls.parameter_rules) == sorted(names)
    check_params(cls())  # defaults are valid


def test_interval_bounds_and_kinds():
    positive_int = Interval(int, 1, None, closed="left")
    assert positive_int.accepts(1) and positive_int.accepts(np.int64(3))
    assert not positive_int.accepts(0)
    assert not positive_int.accepts(2.0)
    assert not positive_int.accepts(True)
    half_open = Interval(float, 0, 0.5, closed="right")
    assert half_open.accepts(0.5) and half_open.accepts(1e-9)
    assert not half_open.accepts(0) and not half_open.accepts(0.51)
    assert not half_open.accepts(float("nan"))
    assert str(positive_int) == "an integer >= 1"
    assert str(half_open) == "a number in (0, 0.5]"


def test_other_rules():
    assert Options("a", "b").accepts("a") and not Options("a", "b").accepts("c")
    assert BOOLEAN.accepts(np.bool_(True)) and not BOOLEAN.accepts(1)
    assert RANDOM_STATE.accepts(None) and RANDOM_STATE.accepts(np.random.RandomState(0))
    assert not RANDOM_STATE.accepts(-1) and not RANDOM_STATE.accepts(2**32)
    assert InstanceOf((tuple, list), "sizes").accepts([1]) and not InstanceOf((tuple, list), "sizes").accepts(3)


@pytest.mark.parametrize(
    "estimator, message",
    [
        (GaussianMixtureDetector(n_components=0), r"GaussianMixtureDetector: n_components=0; expected an integer >= 1"),
        (GaussianMixtureDetector(covariance_type="ful"), r"covariance_type='ful'; expected one of 'diag', 'full'"),
        (KNNDetector(contamination=0.7), r"contamination=0.7; expected a number in \(0, 0.5\]"),
        (OneClassSVMDetector(gamma=-1.0), r"gamma=-1.0; expected one of 'auto', 'scale' or a number > 0"),
        (OneClassSVMDetector(max_samples=0), r"max_samples=0; expected an integer >= 1 or None"),
        (MahalanobisDetector(covariance="robust"), r"covariance='robust'"),
        (ClampedPCA(n_components=1.5), r"n_components=1.5; expected an integer >= 1 or a number in \(0, 1\) or None"),
        (DenseAutoencoderDetector(progress="yes"), r"progress='yes'; expected True or False"),
        (ConvAutoencoderDetector(validation_fraction=1.0), r"validation_fraction=1.0; expected a number in \[0, 1\)"),
    ],
)
def test_fit_rejects_bad_parameters_with_name_and_range(estimator, message):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ParameterError, match=message):
        estimator.fit(X)
