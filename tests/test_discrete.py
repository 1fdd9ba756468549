"""MI with a discrete variable (minelib.discrete) against exact values: a discrete table, a Gaussian mixture whose
component is the label. Tolerances are standard errors over seeds, measured here."""

import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

import minelib as m
from minelib.discrete import mixed_mi, plugin_mi

TABLE = np.array([[0.3, 0.05, 0.05], [0.05, 0.2, 0.05], [0.02, 0.08, 0.2]])
MEANS = (0.0, 1.5, 3.0, 6.0)


def mixture_mi(means=MEANS) -> float:
    """I(X; C) for X | C = c ~ N(mean_c, 1), C uniform: h(mixture) - h(N(0, 1)), by quadrature."""

    def density(t):
        return np.mean([norm.pdf(t, mu) for mu in means])

    h = quad(lambda t: -density(t) * np.log(density(t)), min(means) - 12, max(means) + 12, limit=500)[0]
    return h - norm.entropy()


def test_plugin_on_an_exact_table_and_the_miller_madow_correction():
    x = np.repeat(np.arange(4), 25)  # z = x, uniform over 4 labels: the plug-in is exactly ln 4
    assert plugin_mi(x, x, correction="none") == pytest.approx(np.log(4), abs=1e-12)
    assert plugin_mi(x, x) == pytest.approx(np.log(4) + 3 / 200, abs=1e-12)  # (16 - 4 - 4 + 1 ... occupied: 4)
    assert plugin_mi(["a", "b"] * 50, [1, 2] * 50) == pytest.approx(np.log(2) + 1 / 200)  # any labels


def test_miller_madow_removes_most_of_the_plugin_bias():
    truth, n, seeds = m.mutual_information(TABLE), 100, 200
    raw, corrected = [], []
    for seed in range(seeds):
        idx = np.random.default_rng(seed).choice(9, size=n, p=TABLE.ravel())
        raw.append(plugin_mi(idx // 3, idx % 3, correction="none"))
        corrected.append(plugin_mi(idx // 3, idx % 3))
    se = np.std(corrected, ddof=1) / np.sqrt(seeds)
    assert abs(np.mean(corrected) - truth) < 3 * se  # unbiased within the noise of 200 seeds
    assert np.mean(raw) - truth > 3 * se  # the plug-in alone is biased upwards (by about 4 / 200 nats)


def test_ross_estimator_meets_the_gaussian_mixture():
    truth = mixture_mi()  # 0.813 nats
    estimates = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, len(MEANS), 2000)
        estimates.append(mixed_mi(rng.normal(np.array(MEANS)[labels], 1.0), labels))
    assert abs(np.mean(estimates) - truth) < 0.03  # measured spread over seeds: about 0.01
    one_label = np.random.default_rng(9).normal(size=50)  # continuous: no ties at the k-th distance
    assert mixed_mi(one_label, np.zeros(50, dtype=int)) == pytest.approx(0.0, abs=1e-12)  # no information


def test_mine_takes_the_labels_one_hot_and_ksg_warns_about_them():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(MEANS), 3000)
    x = rng.normal(np.array(MEANS)[labels], 1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = m.estimate_mi(x, np.eye(len(MEANS))[labels], steps=400, hidden=(32,), seed=0, device="cpu")
    assert abs(r.estimate - mixture_mi()) < 0.1 + 3 * r.stderr
    assert not any("heavy-tailed" in str(w.message) for w in caught)  # a one-hot code has no tail
    with pytest.warns(m.MINEWarning, match="looks discrete"):
        m.ksg_mi(x, labels.astype(float))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: plugin_mi([1, 2, 3], [1, 2]), ValueError, "same number of samples"),
        (lambda: plugin_mi([1, 2], [1, 2], correction="jackknife"), ValueError, "correction"),
        (lambda: plugin_mi([[1, 2]], [[1, 2]]), ValueError, "one label per sample"),
        (lambda: mixed_mi(np.arange(3.0), [0, 1, 2]), ValueError, "occurs at least twice"),
        (lambda: mixed_mi(np.arange(4.0), [0, 0, 1]), ValueError, "same number of samples"),
        (lambda: plugin_mi([0.0, np.nan], [1, 2]), ValueError, "NaN"),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_estimate_mi_routes_to_the_discrete_estimators():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, len(MEANS), 1000)
    x = rng.normal(np.array(MEANS)[labels], 1.0)
    mixed = m.estimate_mi(x, labels, "mixed", k=5)
    assert mixed.estimate == mixed_mi(x, labels, k=5) and mixed.method == "mixed" and mixed.settings == {"k": 5}
    noisy = np.where(rng.random(1000) < 0.2, rng.integers(0, 4, 1000), labels)
    plugin = m.estimate_mi(labels, noisy, "plugin")
    assert plugin.estimate == plugin_mi(labels, noisy) and plugin.stderr is None
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['steps'\] for method='plugin'"):
        m.estimate_mi(labels, noisy, "plugin", steps=10)
    with pytest.raises(ValueError, match="unknown method"):
        m.estimate_many([(x, labels)], ["mixed"])  # one data set at a time: estimate_mi
