"""reglab: the library behind the executable book on regularization in PyTorch.

Laid out like PyTorch: :mod:`reglab.nn` (with :mod:`reglab.nn.functional`, the one public
path of the from-scratch F-style functions, and :mod:`reglab.nn.init`), :mod:`reglab.optim`,
:mod:`reglab.data`, :mod:`reglab.train`, :mod:`reglab.stats`, :mod:`reglab.inspection`,
each chapter's experiment in :mod:`reglab.studies` and the figures in
:mod:`reglab.plotting`. :mod:`reglab.environment` reads the ``REGLAB_*`` variables the
library reads. Each package's docstring says what it may import (``tests/test_layout.py``
checks it); numerical modules never import matplotlib, and ``import reglab`` imports
nothing.
"""

__version__ = "0.1.0"
