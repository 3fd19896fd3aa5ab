"""Tests of soundad.detectors: sklearn conventions, sign convention, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from soundad.detectors import (
    DEFAULT_PARAMS,
    DETECTORS,
    ClampedPCA,
    FiniteCheck,
    GaussianMixtureDetector,
    KNNDetector,
    MahalanobisDetector,
    OneClassSVMDetector,
    anomaly_scores,
    check_finite,
    clip_scores,
    make_detector,
)
from soundad.errors import ParameterError


def blobs(n_train=300, n_test=100, dim=8, shift=4.0, seed=0):
    """Normal windows around 0, anomalies shifted by ``shift`` in every dimension."""
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(n_train, dim))
    normal = rng.normal(size=(n_test, dim))
    abnormal = rng.normal(size=(n_test, dim)) + shift / np.sqrt(dim)
    X_test = np.vstack([normal, abnormal])
    y_test = np.r_[np.zeros(n_test), np.ones(n_test)]
    return train, X_test, y_test


# --------------------------------------------------------------------------- #
# scikit-learn's own estimator checks on every custom estimator
# --------------------------------------------------------------------------- #
@parametrize_with_checks(
    [
        GaussianMixtureDetector(n_components=2),
        OneClassSVMDetector(max_samples=100),
        KNNDetector(),
        MahalanobisDetector(),
        MahalanobisDetector(covariance="empirical"),
        FiniteCheck(),
        ClampedPCA(2),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ClampedPCA clamp warning on tiny data
        check(estimator)


# the pipelines make_detector returns, with the checks that scikit-learn's own
# Pipeline fails by design marked as expected failures
PIPELINE_XFAILS = {
    "check_estimators_overwrite_params": "Pipeline fits its steps in place (sklearn design)",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place (sklearn design)",
    "check_outliers_train": "Pipeline exposes no offset_ (it lives on the last step)",
}


@parametrize_with_checks(
    [
        make_detector("gmm", pca=2, n_components=2),
        make_detector("ocsvm", pca=2, max_samples=100),
        make_detector("knn", pca=2),
        make_detector("mahalanobis", pca=2),
        make_detector("iforest", pca=2, n_estimators=20),
    ],
    expected_failed_checks=lambda estimator: PIPELINE_XFAILS,
)
def test_sklearn_checks_on_detector_pipelines(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


# --------------------------------------------------------------------------- #
# behaviour
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", DETECTORS)
def test_detectors_separate_blobs_with_anomalies_scoring_higher(name):
    X_train, X_test, y_test = blobs()
    detector = make_detector(name, seed=0).fit(X_train)
    scores = anomaly_scores(detector, X_test)
    assert scores.shape == (len(X_test),)
    assert roc_auc_score(y_test, scores) > 0.9
    # sign convention: anomaly score = -score_samples
    np.testing.assert_allclose(scores, -detector.score_samples(X_test))
    assert scores[y_test == 1].mean() > scores[y_test == 0].mean()


@pytest.mark.parametrize("name", DETECTORS)
def test_detectors_separate_blobs_in_high_dimension_with_few_windows(name):
    # the paper's small case: few training windows of many features (D > n)
    X_train, X_test, y_test = blobs(n_train=120, n_test=40, dim=256, shift=12.0, seed=1)
    detector = make_detector(name, seed=0).fit(X_train)
    assert roc_auc_score(y_test, anomaly_scores(detector, X_test)) > 0.9


@pytest.mark.parametrize("name", DETECTORS)
def test_same_seed_gives_same_scores(name):
    X_train, X_test, _ = blobs(seed=2)
    a = anomaly_scores(make_detector(name, seed=3).fit(X_train), X_test)
    b = anomaly_scores(make_detector(name, seed=3).fit(X_train), X_test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["gmm", "knn", "mahalanobis"])
def test_contamination_sets_offset_and_predict(name):
    X_train, _, _ = blobs(n_train=400, seed=4)
    detector = make_detector(name, contamination=0.2).fit(X_train)
    flagged = np.mean(detector.predict(X_train) == -1)
    assert flagged == pytest.approx(0.2, abs=0.01)
    np.testing.assert_allclose(
        detector.decision_function(X_train),
        detector.score_samples(X_train) - detector.named_steps["detector"].offset_,
    )


def test_make_detector_pipeline_steps_and_params():
    pipe = make_detector("gmm", pca=0.9, seed=7, n_components=2)
    assert list(pipe.named_steps) == ["check_finite", "scale", "pca", "detector"]
    det = pipe.named_steps["detector"]
    assert det.n_components == 2
    assert det.covariance_type == DEFAULT_PARAMS["gmm"]["covariance_type"]
    assert det.random_state == 7
    assert pipe.named_steps["pca"].random_state == 7
    assert list(make_detector("knn").named_steps) == ["check_finite", "scale", "detector"]
    assert make_detector("iforest", seed=5).named_steps["detector"].random_state == 5


def test_pca_variance_fraction_and_clamping():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 64))
    pipe = make_detector("mahalanobis", pca=500)
    with pytest.warns(UserWarning, match="at most 30"):
        pipe.fit(X)
    assert pipe.named_steps["pca"].n_components_ == 30
    # a variance fraction keeps fewer components than dimensions
    low_rank = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 40)) + 0.01 * rng.normal(size=(200, 40))
    pipe = make_detector("gmm", pca=0.95, n_components=1).fit(low_rank)
    assert pipe.named_steps["pca"].n_components_ <= 3


def test_unknown_detector_lists_choices():
    with pytest.raises(ParameterError, match="gmm, ocsvm, knn, mahalanobis, iforest"):
        make_detector("lof")


def test_unknown_parameter_is_named():
    with pytest.raises(ParameterError, match="n_neighbours"):
        make_detector("knn", n_neighbours=3)


@pytest.mark.parametrize("name", DETECTORS)
def test_nan_and_inf_are_reported_with_rows_and_columns(name):
    X_train, _, _ = blobs(n_train=50, dim=6)
    X_bad = X_train.copy()
    X_bad[3, 2] = np.nan
    X_bad[7, 4] = np.inf
    with pytest.raises(ParameterError, match=r"NaN and inf in 2 of 50 rows \(windows 3, 7\)"):
        make_detector(name).fit(X_bad)
    detector = make_detector(name).fit(X_train)
    with pytest.raises(ParameterError, match=r"columns \(feature dimensions 2, 4\).*finite"):
        detector.score_samples(X_bad)


def test_check_finite_accepts_finite_and_truncates_long_lists():
    check_finite(np.ones((3, 2)))
    X = np.full((10, 20), np.nan)
    with pytest.raises(ParameterError, match=r"windows 0, 1, 2, 3, 4, \.\.\."):
        check_finite(X)


def test_too_few_windows_for_gmm_components():
    X = np.random.default_rng(0).normal(size=(3, 5))
    with pytest.raises(ParameterError, match="n_components=4.*n_samples=3"):
        make_detector("gmm", n_components=4).fit(X)


def test_knn_needs_more_windows_than_neighbours():
    X = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(ParameterError, match="n_neighbors=5 must be smaller.*n_samples=5"):
        KNNDetector(n_neighbors=5).fit(X)
    KNNDetector(n_neighbors=4).fit(X)


def test_knn_score_is_minus_mean_distance():
    X_train = np.array([[0.0], [1.0], [3.0]])
    det = KNNDetector(n_neighbors=2).fit(X_train)
    # point 0.5: neighbours 0 and 1 at distance 0.5 each
    # point 10: neighbours 3 and 1 at distances 7 and 9
    np.testing.assert_allclose(det.score_samples([[0.5], [10.0]]), [-0.5, -8.0])


def test_mahalanobis_matches_hand_computation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2)) * [1.0, 3.0]
    det = MahalanobisDetector(covariance="empirical").fit(X)
    mean = X.mean(axis=0)
    cov = np.cov(X, rowvar=False, bias=True)
    x = np.array([[1.0, 2.0]])
    d = x - mean
    expected = -(d @ np.linalg.inv(cov) @ d.T).item()
    np.testing.assert_allclose(det.score_samples(x), [expected], rtol=1e-8)


def test_ocsvm_subsamples_large_training_sets_reproducibly():
    X_train, X_test, _ = blobs(n_train=600, seed=5)
    a = OneClassSVMDetector(max_samples=200, random_state=1).fit(X_train)
    b = OneClassSVMDetector(max_samples=200, random_state=1).fit(X_train)
    c = OneClassSVMDetector(max_samples=None).fit(X_train)
    assert a.n_train_used_ == 200
    assert c.n_train_used_ == 600
    np.testing.assert_array_equal(a.score_samples(X_test), b.score_samples(X_test))


def test_clip_scores_mean_and_max():
    window_scores = np.array([1.0, 3.0, 10.0, 0.0, 2.0])
    clip_ids = np.array(["b.wav", "b.wav", "a.wav", "a.wav", "c.wav"])
    mean = clip_scores(window_scores, clip_ids)
    assert isinstance(mean, pd.Series)
    assert list(mean.index) == ["a.wav", "b.wav", "c.wav"]
    assert mean.index.name == "clip_id"
    np.testing.assert_allclose(mean.to_numpy(), [5.0, 2.0, 2.0])
    top = clip_scores(window_scores, clip_ids, how="max")
    np.testing.assert_allclose(top.to_numpy(), [10.0, 3.0, 2.0])


def test_clip_scores_bad_input():
    with pytest.raises(ParameterError, match="how='median'"):
        clip_scores([1.0], ["a"], how="median")
    with pytest.raises(ParameterError, match="2 values but clip_ids has 3"):
        clip_scores([1.0, 2.0], ["a", "b", "c"])
    with pytest.raises(ParameterError, match="NaN"):
        clip_scores([1.0, np.nan], ["a", "b"])
