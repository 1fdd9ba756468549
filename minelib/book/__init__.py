"""Helpers for the book's notebooks: the size profile, set-up, plots and static-friendly widgets."""

from minelib.book.profile import BUDGETS, budget, quietly, results_path, save_results, setup, size

__all__ = ["BUDGETS", "budget", "quietly", "results_path", "save_results", "setup", "size"]
