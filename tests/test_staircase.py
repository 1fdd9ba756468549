"""The staircase experiment at a tiny size: shapes, the truth, InfoNCE's cap on every step, bad arguments."""

import math

import numpy as np
import pytest

import minelib as m
from minelib.staircase import level_summary, rho_for_mi, staircase


def test_rho_for_mi_inverts_the_gaussian_mi():
    for mi, dim in ((2.0, 20), (10.0, 20), (0.5, 1)):
        assert m.gaussian_mi(rho_for_mi(mi, dim), dim) == pytest.approx(mi, rel=1e-12)


TINY = dict(levels=(1.0, 3.0), steps_per_level=15, batch_size=16, dim=2, seeds=2, hidden=(16,), embed_dim=4)


@pytest.mark.parametrize("critic", ["separable", "concat"])
def test_a_tiny_staircase(critic):
    r = staircase(**TINY, critic=critic, device="cpu")
    assert r["estimates"].shape == (6 * 2, 30) and len(r["members"]) == 12
    assert np.all(r["truth"][:15] == 1.0) and np.all(r["truth"][15:] == 3.0)
    infonce = r["estimates"][[i for i, (b, _) in enumerate(r["members"]) if b == "infonce"]]
    assert np.all(infonce <= math.log(16) + 1e-6)  # the cap, on every step
    rows = level_summary(r, last=10)
    assert len(rows) == 6 * 2 and all(row["seeds"] == 2 for row in rows)
    again = staircase(**TINY, critic=critic, device="cpu")
    np.testing.assert_array_equal(r["estimates"], again["estimates"])  # seeded


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bounds": ["mine", "tuba"]}, "unknown bound"),
        ({"bounds": []}, "empty"),
        ({"critic": "bilinear"}, "critic"),
        ({"levels": (0.0,)}, "mi must"),
        ({"tau": 0.0}, "tau"),
        ({"seeds": 0}, "seeds"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        staircase(**kwargs, steps_per_level=1)
