"""minelib: Mutual Information Neural Estimation (Belghazi et al., 2018), the library of the MINE book.

Layers, each importing only from those above it in this list:

1. ground truth, maths and data handling: ``minelib.data``, ``minelib.information``, ``minelib.bounds``,
   ``minelib.preprocess``, ``minelib.ksg``, ``minelib.ema``;
2. networks and the trainer: ``minelib.nets``, ``minelib.mine``, ``minelib.estimate``;
3. notebook helpers: ``minelib.book`` (size profile, set-up, plots, sliders).
"""

from minelib._checks import MINEWarning
from minelib.bounds import dv_bound, f_bound, log_mean_exp
from minelib.data import (
    gaussian_mi,
    nonlinear_mi,
    sample_correlated_gaussians,
    sample_nonlinear,
    sample_student_t,
    student_t_mi,
)
from minelib.ema import ema_log_mean_exp, ema_log_mean_exp_surrogate, update_log_ema
from minelib.estimate import MIResult, estimate_many, estimate_mi
from minelib.information import entropy, gibbs, kl_divergence, mutual_information, product_of_marginals
from minelib.ksg import ksg_mi, ksg_mi_bruteforce
from minelib.mine import MINE
from minelib.nets import StatisticsNetwork

__version__ = "0.1.0"

__all__ = [
    "MINE",
    "MINEWarning",
    "MIResult",
    "StatisticsNetwork",
    "dv_bound",
    "ema_log_mean_exp",
    "ema_log_mean_exp_surrogate",
    "entropy",
    "estimate_many",
    "estimate_mi",
    "f_bound",
    "gaussian_mi",
    "gibbs",
    "kl_divergence",
    "ksg_mi",
    "ksg_mi_bruteforce",
    "log_mean_exp",
    "mutual_information",
    "nonlinear_mi",
    "product_of_marginals",
    "sample_correlated_gaussians",
    "sample_nonlinear",
    "sample_student_t",
    "student_t_mi",
    "update_log_ema",
]
