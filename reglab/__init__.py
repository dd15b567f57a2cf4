"""reglab: the library behind the executable book on regularization in PyTorch.

Each module holds one concept (``data``, ``inspection``, ``init``, ``functional``, ...);
``reglab.nn.functional`` is the one public path for the from-scratch F-style functions, and
``reglab.environment`` reads every ``REGLAB_*`` variable.
Numerical modules never import matplotlib; figures live in :mod:`reglab.plotting`.
"""

__version__ = "0.1.0"
