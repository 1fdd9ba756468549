"""minelib: Mutual Information Neural Estimation (Belghazi et al., 2018), the library of the MINE book.

Layers, each importing only from those above it in this list:

1. ground truth, maths and data handling: ``minelib.data``, ``minelib.tasks`` (the hard cases and the benchmark
   suite, with exact MI),
   ``minelib.mnist`` (MNIST, full or the offline subset; ``import minelib.mnist``),
   ``minelib.information``, ``minelib.bounds`` (every bound of the MINE family and MINE's moving-average
   gradient, in one registry), ``minelib.preprocess`` (validation, splits and transforms: ``prepare``),
   ``minelib.trust`` (the checks behind every warning), ``minelib.ksg``, ``minelib.ksg_torch``,
   ``minelib.discrete`` (MI with a discrete variable: plug-in with Miller-Madow, Ross's mixed estimator),
   ``minelib.reference`` (MINE and KSG written out as the chapters write them; the fast paths are tested
   against them);
2. networks, the training loop, estimators and the MI term: ``minelib.nets``, ``minelib.train`` (one loop for
   every critic), ``minelib.config`` (``MINEConfig``), ``minelib.mine``, ``minelib.staircase``,
   ``minelib.estimate``, ``minelib.independence`` (a permutation test of independence), ``minelib.sample_size``
   (a bias diagnostic: the estimate on fractions of the data), ``minelib.mi_term`` (MINE
   as a differentiable loss term for other models),
   ``minelib.diagnostics``;
3. the paper's applications: ``minelib.applications`` (toy data and mode metrics, GAN + MINE and its DCGAN
   for Stacked MNIST, the MNIST classifier, ALI + MINE, the information bottleneck); not imported by
   ``import minelib``;
4. notebook helpers: ``minelib.book`` (size profile, set-up, results I/O, timing and the timing
   comparisons, plots, sliders); not imported by ``import minelib``.
"""

from minelib._checks import MINEWarning
from minelib.bounds import (
    BOUNDS,
    derangement,
    dv,
    dv_bound,
    ema_log_mean_exp,
    ema_log_mean_exp_surrogate,
    f_bound,
    gan_dime,
    infonce,
    js,
    log_mean_exp,
    nwj,
    smile,
    update_log_ema,
)
from minelib.config import MINEConfig
from minelib.data import (
    gaussian_log_ratio,
    gaussian_mi,
    nonlinear_mi,
    sample_correlated_gaussians,
    sample_nonlinear,
    sample_student_t,
    student_t_mi,
)
from minelib.discrete import mixed_mi, plugin_mi
from minelib.estimate import Estimates, MIResult, estimate_many, estimate_mi
from minelib.independence import IndependenceTest, independence_test
from minelib.information import entropy, gibbs, kl_divergence, mutual_information, product_of_marginals
from minelib.ksg import ksg_mi, ksg_mi_bruteforce
from minelib.mi_term import MITerm, adaptive_gradient_clip
from minelib.mine import MINE
from minelib.nets import SeparableCritic, StatisticsNetwork
from minelib.sample_size import SampleSizeCurve, sample_size_curve

__version__ = "0.3.0"

__all__ = [
    "BOUNDS",
    "Estimates",
    "IndependenceTest",
    "MINE",
    "MINEConfig",
    "MITerm",
    "MINEWarning",
    "MIResult",
    "SampleSizeCurve",
    "SeparableCritic",
    "StatisticsNetwork",
    "adaptive_gradient_clip",
    "derangement",
    "dv",
    "dv_bound",
    "ema_log_mean_exp",
    "ema_log_mean_exp_surrogate",
    "entropy",
    "estimate_many",
    "estimate_mi",
    "f_bound",
    "gan_dime",
    "gaussian_log_ratio",
    "gaussian_mi",
    "gibbs",
    "independence_test",
    "infonce",
    "js",
    "kl_divergence",
    "ksg_mi",
    "ksg_mi_bruteforce",
    "log_mean_exp",
    "mixed_mi",
    "mutual_information",
    "nwj",
    "plugin_mi",
    "nonlinear_mi",
    "product_of_marginals",
    "sample_correlated_gaussians",
    "sample_size_curve",
    "sample_nonlinear",
    "sample_student_t",
    "smile",
    "student_t_mi",
    "update_log_ema",
]
