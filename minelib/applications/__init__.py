"""The paper's applications of MINE (section 5), built on the differentiable MI term.

Not imported by ``import minelib``: ``import minelib.applications.toy`` (the 25-Gaussians and spiral data
sets and their mode metrics), ``minelib.applications.gan`` (a GAN whose generator also maximises
:math:`\\beta\\, I(G([\\varepsilon, c]); c)`, with the paper's adaptive gradient clipping),
``minelib.applications.classifier`` (the shared MNIST classifier) and ``minelib.applications.stacked``
(Stacked MNIST and its mode counter).
"""
