"""Helpers for the book's notebooks: the size profile, set-up, plots and static-friendly widgets."""

from minelib.book.profile import BUDGETS, budget, setup, size

__all__ = ["BUDGETS", "budget", "setup", "size"]
