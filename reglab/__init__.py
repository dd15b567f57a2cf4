"""reglab: the library behind the executable book on regularization in PyTorch.

Each module holds one concept (``data``, ``inspect``, ``init``, ``functional``, ...).
Numerical modules never import matplotlib; figures live in :mod:`reglab.plotting`.
"""

__version__ = "0.1.0"
