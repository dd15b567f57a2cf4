"""Figures of the book, one module per topic.

Every function takes results plus a matplotlib ``ax`` (or an array of axes) and returns
it. Captions belong to the chapters (``mystnb: figure:`` metadata), so nothing here sets a
title; axis labels are lowercase. The numbers come from the numerical modules, which never
import matplotlib.

May import: ``reglab._checks``, ``reglab.stats``, ``reglab.inspection``.
Imported by: nothing of reglab.

- :mod:`reglab.plotting.images`: digits and feature maps.
- :mod:`reglab.plotting.activations`: signal and gradient statistics through depth.
- :mod:`reglab.plotting.curves`: per-epoch curves of several runs.
- :mod:`reglab.plotting.seeds`: seeded and paired comparisons, every seed a dot.
- :mod:`reglab.plotting.batchnorm`: running statistics of batch norm.
- :mod:`reglab.plotting.early_stopping`: filter factors, weight paths, stopping rules.
- :mod:`reglab.plotting.targets`: reliability diagrams, mixed batches, templates.
- :mod:`reglab.plotting.averaging`: ensembles, schedules and 1-D loss curves.
- :mod:`reglab.plotting.normalization`: normalization axes and the batch-size study.
- :mod:`reglab.plotting.double_descent`: memorization curves and double descent.
- :mod:`reglab.plotting.adversarial`: the linear-model check, weight images, robustness.
"""
