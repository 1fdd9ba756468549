"""Plot helpers shared by the chapters."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle
from scipy.optimize import brentq


def _lens_area(r1: float, r2: float, d: float) -> float:
    """Area of the intersection of two circles of radii r1, r2 whose centres are d apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return np.pi * min(r1, r2) ** 2
    a1 = r1**2 * np.arccos((d**2 + r1**2 - r2**2) / (2 * d * r1))
    a2 = r2**2 * np.arccos((d**2 + r2**2 - r1**2) / (2 * d * r2))
    return a1 + a2 - 0.5 * np.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))


def venn(ax: Axes, h_x: float, h_z: float, mi: float, labels: tuple[str, str] = ("X", "Z")) -> None:
    """Information diagram whose areas are the numbers: circles of area H(X) and H(Z) overlapping in I(X;Z)."""
    r1, r2 = np.sqrt(h_x / np.pi), np.sqrt(h_z / np.pi)
    lo, hi = abs(r1 - r2) + 1e-12, r1 + r2
    d = brentq(lambda d: _lens_area(r1, r2, d) - mi, lo, hi) if 0 < mi < np.pi * min(r1, r2) ** 2 else hi
    for x, r, color in ((0.0, r1, "tab:blue"), (d, r2, "tab:orange")):
        ax.add_patch(Circle((x, 0), r, alpha=0.35, color=color, lw=2))
    ax.text(-r1 / 2, 0, f"H({labels[0]}|{labels[1]})\n{h_x - mi:.3f}", ha="center", va="center")
    ax.text(d + r2 / 2, 0, f"H({labels[1]}|{labels[0]})\n{h_z - mi:.3f}", ha="center", va="center")
    ax.text((d + r1 - r2) / 2, 0, f"I\n{mi:.3f}", ha="center", va="center", fontweight="bold")
    ax.text(0, r1 * 1.08, f"H({labels[0]}) = {h_x:.3f}", ha="center")
    ax.text(d, -r2 * 1.18, f"H({labels[1]}) = {h_z:.3f}", ha="center")
    ax.set_xlim(-r1 * 1.2, d + r2 * 1.2)
    ax.set_ylim(-max(r1, r2) * 1.35, max(r1, r2) * 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
