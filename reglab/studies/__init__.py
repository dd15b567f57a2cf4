"""Each chapter's experiment: its settings (one source of truth) and its orchestration,
one module per chapter (``reglab.studies.together``, ...), not re-exported here.

May import: ``reglab._checks``, ``reglab.environment``, ``reglab.nn``, ``reglab.optim``,
``reglab.data``, ``reglab.train``, ``reglab.stats``, ``reglab.inspection`` (all but
the figures: the chapters draw them).
Imported by: nothing of reglab.
"""

__all__ = []
