"""
=============================================
A study at scale: plotting its results file
=============================================

``python -m reglab.studies.together --data-size 500 50000 --seeds 20 --output
runs/together.jsonl`` runs "Putting it together" at any scale (under ``torchrun`` on
several GPUs or machines, too) and writes one JSON line per finished run. This example
reads such a file and plots every setting's test accuracy, one dot per seed, with each
setting's paired difference to "none".

Run it with ``python examples/at_scale.py runs/together.jsonl``. Without a file it first
runs a small grid of the same study itself (the same code, at the scale of a laptop;
``REGLAB_QUICK=1`` makes it tiny), into a temporary folder.

The chapter :doc:`/chapters/together` explains the study.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# A results file
# --------------
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from reglab import environment
from reglab.studies.together import StudyConfig, run_grid_study

if len(sys.argv) > 1 and sys.argv[1].endswith(".jsonl"):
    path = Path(sys.argv[1])
else:  # a small grid of the same study, written the way the command writes it
    from reglab.data import mnist_tensors
    from reglab.studies.regularizers import Setting

    quick = environment.flag("REGLAB_QUICK")
    config = replace(
        StudyConfig(),
        seeds=(0, 1) if quick else (0, 1, 2, 3, 4),
        sizes=(5,) if quick else (20,),
        val_per_class=5 if quick else 20,
        num_epochs=4 if quick else 100,
        hidden=(16,) if quick else (256, 256),
        candidates={
            "none": (Setting("none"),),
            "batch norm": (Setting("batch norm", batch_norm=True),),
        },
    )
    path = Path(tempfile.mkdtemp()) / "together.jsonl"
    pool, test = mnist_tensors(train=True), mnist_tensors(train=False)
    run_grid_study(config, pool, test, output=path, device="cpu")

# %%
# Reading it back
# ---------------
# Each line holds the grid point (the setting), the seed, the study's config, the metrics
# and how the run was made (versions, command, number of processes).
from reglab.stats import by_seed, paired_difference
from reglab.studies.records import load_results
from reglab.studies.results import RunResult

records = load_results(path)
results = [RunResult.from_dict(r["metrics"]) for r in records]
names = list(dict.fromkeys(r.name for r in results))
print(f"{len(records)} runs of {len(names)} settings from {path.name}; "
      f"written by {records[0]['world_size']} process(es) with torch "
      f"{records[0]['versions']['torch']}")  # fmt: skip

# %%
# Every seed a dot
# ----------------
import matplotlib.pyplot as plt

from reglab.plotting.seeds import plot_seed_dots

# the smallest training-set size of the file (which holds each name once per size)
size = min(r.n_train for r in results)
results = [r for r in results if r.n_train == size]
accuracy = {name: by_seed(results, "test_acc", name=name) for name in names}
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_seed_dots({n: [100 * a for a in v] for n, v in accuracy.items()}, ax,
               ylabel="test accuracy (%)")  # fmt: skip
for name in names[1:]:
    d = paired_difference(accuracy[name], accuracy["none"])
    print(f"{name} minus none: {d.describe()} over {d.n} seeds")
plt.show()
