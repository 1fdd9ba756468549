"""Sliders that work with and without a kernel.

A slider's position selects one of several pre-rendered figures. The link between the slider and the
figures is a client-side ``jslink``, saved in the notebook's widget state, so the sliders respond in
Jupyter, on Colab and in the static HTML book alike. Two sliders make a grid: the first picks a row of
figures, the second picks the figure within every row.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from itertools import product

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def _png(fig: Figure) -> widgets.Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return widgets.Image(value=buf.getvalue(), format="png")


def _slider(name: str, values: Sequence) -> widgets.SelectionSlider:
    return widgets.SelectionSlider(
        options=[(f"{v:g}" if isinstance(v, float) else str(v), i) for i, v in enumerate(values)],
        value=len(values) // 2,
        description=name,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="420px"),
    )


def slider_stack(draw: Callable[..., Figure], **axes: Sequence) -> widgets.VBox:
    """One or two sliders over pre-rendered figures ``draw(**{name: value})``.

    ``axes`` maps each slider's label to its values, e.g. ``slider_stack(draw, rho=[0, 0.5, 0.9])``.
    """
    if not 1 <= len(axes) <= 2:
        raise ValueError(f"slider_stack takes one or two slider axes, got {len(axes)}")
    names = list(axes)
    sliders = [_slider(name, axes[name]) for name in names]
    pictures = {key: _png(draw(**dict(zip(names, key)))) for key in product(*axes.values())}
    rows = []
    for first in axes[names[0]]:
        row = [pictures[(first, *rest)] for rest in product(*(axes[n] for n in names[1:]))]
        rows.append(widgets.Stack(row, selected_index=sliders[-1].value) if len(names) == 2 else row[0])
    outer = widgets.Stack(rows, selected_index=sliders[0].value)
    widgets.jslink((sliders[0], "index"), (outer, "selected_index"))
    if len(names) == 2:
        for row in rows:
            widgets.jslink((sliders[1], "index"), (row, "selected_index"))
    return widgets.VBox([*sliders, outer])
