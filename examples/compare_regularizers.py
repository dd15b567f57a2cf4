"""
======================================================
Comparing regularizers on MNIST, from the command line
======================================================

Runs the study of the chapter "Putting it together": the same MLP with the same budget
under each regularizer (weight decay and dropout at a few candidate strengths, batch
norm, augmentation) and under all of them at once (on a joint grid of the strengths), for
several seeds, at one or more training-set sizes. Each seed draws its own class-balanced
training and validation digits from the MNIST training split; every strength is chosen on
the validation digits, and every run stops early on the validation loss. The test set is
evaluated once per run, after training. Writes ``results.json`` (every run, every epoch),
``summary.csv`` and a dot plot of the test accuracy per seed, and prints the choice and
the paired differences to "none".

Examples::

    python examples/compare_regularizers.py --device cpu     # the book's study
    python examples/compare_regularizers.py --sizes 50 500 --seeds 10 --device cuda
    python examples/compare_regularizers.py --settings none dropout --output runs/

With the book's data root (``REGLAB_DATA``) and ``--device cpu`` the numbers are those of
the chapter :doc:`/chapters/together`, which reads them. ``REGLAB_QUICK=1`` (or
``--quick``) runs a tiny version: that is what the gallery shows.
"""

# Authors: The reglab developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Command-line options
# --------------------
import argparse
import sys
from pathlib import Path

from reglab import environment
from reglab.studies.together import StudyConfig

BOOK = StudyConfig()  # the chapter's settings: the defaults of every option below
FAMILIES = {family.replace(" ", "-"): family for family in BOOK.candidates}
QUICK = dict(sizes=[3], val_per_class=2, n_test=100, epochs=2, seeds=2)  # --quick


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def n_test_type(text: str) -> int | None:
    """A positive number of test images, or "all" (None): the whole test split."""
    return None if text == "all" else positive_int(text)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare regularizers on MNIST with an MLP (the book's study).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=positive_int,
        nargs="+",
        default=list(BOOK.sizes),
        metavar="N",
        help="training images per class, one study per size",
    )
    parser.add_argument(
        "--val-per-class",
        type=positive_int,
        default=BOOK.val_per_class,
        help="validation images per class",
    )
    parser.add_argument(
        "--n-test", type=n_test_type, default=BOOK.n_test, help='test images, or "all"'
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=BOOK.num_epochs, help="most epochs per run"
    )
    parser.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=list(BOOK.hidden),
        metavar="WIDTH",
        help="widths of the MLP's hidden layers",
    )
    parser.add_argument(
        "--patience",
        type=positive_int,
        default=BOOK.patience,
        help="early stopping on the val loss",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=len(BOOK.seeds),
        help="seeds per setting (0, 1, ...)",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=list(FAMILIES),
        default=list(FAMILIES),
        metavar="NAME",
        help=f"regularizers to compare, among: {', '.join(FAMILIES)}",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where to train; auto picks CUDA when available (the book uses cpu)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=environment.path("REGLAB_OUTPUT", "examples/output") / "compare_regularizers",
        help="folder for results.json, summary.csv and the figure",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=environment.flag("REGLAB_QUICK"),
        help="a tiny run to check the pipeline: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items()),
    )
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    return args


# %%
# The study
# ---------
def main(argv=None) -> int:
    args = parse_args(argv)
    from dataclasses import replace

    import torch

    from reglab.data import mnist_tensors
    from reglab.stats import Table, by_seed, holm, paired_difference
    from reglab.studies.results import save_results
    from reglab.studies.together import choices, run
    from reglab.train import default_device

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    device = default_device() if args.device == "auto" else torch.device(args.device)
    config = replace(
        BOOK, sizes=tuple(dict.fromkeys(args.sizes)), val_per_class=args.val_per_class,
        n_test=args.n_test, num_epochs=args.epochs, hidden=tuple(args.hidden),
        patience=args.patience, seeds=tuple(range(args.seeds)),
        candidates={FAMILIES[name]: BOOK.candidates[FAMILIES[name]] for name in args.settings},
    )  # fmt: skip

    pool = mnist_tensors(train=True)
    test = mnist_tensors(train=False)
    rarest = int(torch.bincount(pool[1]).min())
    if max(config.sizes) + config.val_per_class > rarest:
        print(f"error: --sizes {max(config.sizes)} + --val-per-class "
              f"{config.val_per_class} = {max(config.sizes) + config.val_per_class}, but "
              f"the rarest class of the data root has {rarest} images",
              file=sys.stderr)  # fmt: skip
        return 2
    n_test = len(test[0]) if config.n_test is None else min(config.n_test, len(test[0]))
    print(f"training on {', '.join(str(10 * n) for n in config.sizes)} images, validating "
          f"on {10 * config.val_per_class}, each seed drawing its own; {n_test} test "
          f"images; MLP {list(config.hidden)}; at most {config.num_epochs} epochs, "
          f"patience {config.patience}, {len(config.seeds)} seed(s), device {device}")  # fmt: skip

    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        progress = lambda jobs: tqdm(jobs, desc="runs", unit="run")  # noqa: E731
    # every size, every candidate and point of the joint grid, every seed
    results = run(config, pool, test, device=device, progress=progress)
    json_path, csv_path = save_results(results, args.output)

    # summary table and figure
    import matplotlib.pyplot as plt

    from reglab.plotting.seeds import plot_seed_dots

    def mean(values):
        return sum(values) / len(values)

    fig, axes = plt.subplots(1, len(config.sizes), figsize=(7 * len(config.sizes), 3.6),
                             squeeze=False)  # fmt: skip
    for n, ax in zip(config.sizes, axes[0], strict=True):
        at_size = [r for r in results if r.n_train == 10 * n]
        chosen = choices(results, config, n)  # on the validation loss
        final = [s.name for s in chosen.values()]
        # every setting against "none", paired by seed; Holm's adjustment within the size
        compared = [
            name for name in final if name != "none"
        ] if "none" in final and len(config.seeds) > 1 else []  # fmt: skip
        none = by_seed(at_size, "test_acc", name="none") if compared else []
        diffs = [
            paired_difference(by_seed(at_size, "test_acc", name=name), none) for name in compared
        ]
        by_name = dict(zip(compared, holm(diffs) if diffs else [], strict=True))
        rows = []
        for name in final:
            test_acc = by_seed(at_size, "test_acc", name=name)
            row = [name, mean(by_seed(at_size, "val_loss", name=name)), mean(test_acc)]
            d = by_name.get(name)
            row += (
                [d.describe(), f"{d.p_adjusted:.2g}", "yes" if d.rejects else "no"]
                if d
                else [""] * 3
            )
            rows.append(row)
        print(f"\n{10 * n} training images")
        print(Table(
            ["setting (chosen on val)", "val loss", "test acc", "test acc − none",
             "Holm p", "differ?"],
            rows, floatfmt=".3f",
        ))  # fmt: skip
        plot_seed_dots(
            {name: by_seed(at_size, "test_acc", name=name) for name in final}, ax,
            ylabel="test accuracy",
        )  # fmt: skip
        ax.set_title(f"{10 * n} training images")
        ax.tick_params(axis="x", labelrotation=20)
    figure = args.output / "test_accuracy.png"
    fig.savefig(figure, dpi=150, bbox_inches="tight")
    print(f"wrote {json_path}, {csv_path} and {figure}")
    return 0


# %%
# Running it
# ----------
# ``python examples/compare_regularizers.py --help`` lists the options above. The gallery
# runs it with ``REGLAB_QUICK=1``, so its numbers only show that everything works; the
# chapter has the real study.
if __name__ == "__main__":
    # in a notebook, sys.argv holds the kernel's own arguments: run with the defaults
    status = main([] if "ipykernel" in sys.modules else None)
    if status:  # exit only on failure: a SystemExit(0) would end a sphinx-gallery build
        sys.exit(status)
