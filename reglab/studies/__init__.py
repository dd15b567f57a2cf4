"""Each chapter's experiment: its settings (one source of truth) and its orchestration.

Imports any package but :mod:`reglab.plotting`; nothing in reglab imports a study.
"""

__all__ = []
