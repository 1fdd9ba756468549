"""The paper's applications of MINE (section 5), built on the differentiable MI term.

Not imported by ``import minelib``: ``import minelib.applications.toy`` (the 25-Gaussians and spiral data
sets and their mode metrics), ``minelib.applications.gan`` (a GAN whose generator also maximises
:math:`\\beta\\, I(G([\\varepsilon, c]); c)`, with the paper's adaptive gradient clipping),
``minelib.applications.dcgan`` (its networks for 3 × 28 × 28 images), ``minelib.applications.classifier``
(the shared MNIST classifier), ``minelib.applications.stacked`` (Stacked MNIST and its mode counter),
``minelib.applications.ali`` (ALI / BiGAN whose encoder also maximises :math:`\\beta\\, I_q(x, z)`, and the
reconstruction metrics), ``minelib.applications.similarity`` (MS-SSIM for 28 × 28 images) and
``minelib.applications.bottleneck`` (the information bottleneck: baseline, deep VIB and MINE).
"""
