import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from minelib.book import budget, results_path, setup, size
from minelib.book.plots import _lens_area, venn
from minelib.book.widgets import slider_stack


def test_budget_switch(monkeypatch):
    monkeypatch.setenv("MINE_BUDGET", "smoke")
    assert budget() == "smoke" and size(full=10, smoke=1) == 1
    assert results_path("x.json").parent.name.startswith("mine-smoke-")  # never the stored results
    monkeypatch.setenv("MINE_BUDGET", "full")
    assert size(full=10, smoke=1) == 10
    monkeypatch.setenv("MINE_BUDGET", "huge")
    with pytest.raises(ValueError, match="MINE_BUDGET"):
        budget()


def test_setup_seeds_and_stamps(capsys, monkeypatch):
    monkeypatch.setenv("MINE_BUDGET", "smoke")
    a = (setup(seed=3), torch.rand(1).item())
    b = (setup(seed=3), torch.rand(1).item())
    assert a[1] == b[1]
    assert capsys.readouterr().out.startswith("minelib ")


def test_venn_overlap_area_equals_mi():
    r1, r2 = np.sqrt(1.0 / np.pi), np.sqrt(0.6 / np.pi)
    assert _lens_area(r1, r2, 0.0) == pytest.approx(0.6)  # one circle inside the other
    assert _lens_area(r1, r2, r1 + r2) == 0.0
    fig, ax = plt.subplots()
    venn(ax, 1.0, 0.6, 0.2)
    (c1, c2) = ax.patches
    d = c2.center[0]
    assert _lens_area(c1.radius, c2.radius, d) == pytest.approx(0.2, abs=1e-9)
    plt.close(fig)


def test_slider_stack_links_sliders_to_figures():
    def draw(a, b=0):
        fig, ax = plt.subplots()
        ax.set_title(f"{a} {b}")
        return fig

    one = slider_stack(draw, a=[1, 2, 3])
    slider, stack = one.children
    assert isinstance(stack, widgets.Stack) and len(stack.children) == 3
    two = slider_stack(draw, a=[1, 2], b=[5, 6, 7])
    s1, s2, outer = two.children
    assert len(outer.children) == 2 and all(len(row.children) == 3 for row in outer.children)
    assert outer.selected_index == s1.index and outer.children[0].selected_index == s2.index
    with pytest.raises(ValueError, match="one or two"):
        slider_stack(draw)
