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


def _devices(timings: dict, section: str):
    """(label, rows, style) per device that has ``section``; a device measured in this session is dashed."""
    for k, (name, found) in enumerate(timings.items()):
        if found.get(section):
            yield name, found[section], dict(color=f"C{k}", ls="--" if found.get("live") else "-")


def plot_throughput(ax: Axes, timings: dict) -> None:
    """Pairs per second against the batch size, one line per device (log-log)."""
    for name, rows, style in _devices(timings, "throughput"):
        ax.loglog([r["batch_size"] for r in rows], [r["pairs_per_s"] for r in rows], marker="o", label=name, **style)
    ax.set(xlabel="batch size b", ylabel="training pairs per second", title="MINE throughput (hidden 64-64)")
    ax.legend(fontsize=8)


def plot_ensemble(ax: Axes, timings: dict) -> None:
    """Speed-up of one ensemble over N one-at-a-time runs, one line per device."""
    for name, rows, style in _devices(timings, "ensemble"):
        ax.loglog([r["n_models"] for r in rows], [r["speedup"] for r in rows], marker="o", label=name, **style)
    ax.axhline(1, color="k", lw=1)
    ax.set(xlabel="networks N", ylabel="speed-up (one at a time / ensemble)", title="Ensembles of N networks")
    ax.legend(fontsize=8)


def plot_ksg(ax: Axes, timings: dict, dim: int) -> None:
    """KSG seconds against the number of samples at one dimension, one line per device (log-log)."""
    for name, rows, style in _devices(timings, "ksg"):
        rows = [r for r in rows if r["dim"] == dim]
        if rows:
            label = f"{name} ({rows[0]['method']})"
            ax.loglog([r["n"] for r in rows], [r["seconds"] for r in rows], marker="o", label=label, **style)
    ax.set(xlabel="samples N", ylabel="seconds", title=f"KSG, d = {dim} per variable")
    ax.legend(fontsize=7)


def plot_accuracy(ax: Axes, timings: dict, dim: int) -> None:
    """Error |estimate - truth| in nats against seconds for MINE (circles) and KSG (squares), per device."""
    for name, rows, style in _devices(timings, "accuracy"):
        for method, marker in (("mine", "o"), ("ksg", "s")):
            chosen = [r for r in rows if r["dim"] == dim and r["method"] == method]
            if chosen:
                ax.loglog(
                    [r["seconds"] for r in chosen],
                    [max(r["error"], 1e-3) for r in chosen],
                    marker=marker,
                    label=f"{method.upper()}, {name}",
                    **style,
                )
    ax.set(xlabel="wall-clock seconds", ylabel="|estimate - truth| [nats]", title=f"d = {dim} per variable")
    ax.legend(fontsize=7)
