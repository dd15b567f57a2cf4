"""
====================================================
Comparing regularizers on MNIST, from the command line
====================================================

Trains the same small CNN with the same budget under each regularization setting (none,
L2, L1, dropout, Dropout2d, batch norm, augmentation, all together) for several seeds, on a
class-balanced MNIST training subset, and evaluates on the test split. Writes
``results.json`` (every run, every epoch), ``summary.csv`` and a figure of the
generalization gaps, and prints a summary table.

Examples::

    python examples/compare_regularizers.py                        # the book's study
    python examples/compare_regularizers.py --n-train all --epochs 30 --device cuda
    python examples/compare_regularizers.py --settings none all --seeds 5 --output runs/

``REGLAB_QUICK=1`` (or ``--quick``) runs a tiny version.
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
from reglab.experiment import SETTINGS


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def n_train_type(text: str) -> int | None:
    """A positive number of training images, or "all" (None): every image in the data root."""
    return None if text == "all" else positive_int(text)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare regularizers on MNIST with a small CNN.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--n-train",
        type=n_train_type,
        default=500,
        help='training images, class-balanced, or "all" for the whole data root',
    )
    parser.add_argument("--n-test", type=positive_int, default=2000, help="test images")
    parser.add_argument("--epochs", type=positive_int, default=20, help="epochs per run")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds per setting")
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=list(SETTINGS),
        default=list(SETTINGS),
        metavar="NAME",
        help=f"settings to run, among: {', '.join(SETTINGS)}",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where to train; auto picks CUDA when available",
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
        help="a tiny run (40 images, 1 epoch, 1 seed) to check that everything works",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.seeds = 40, 100, 1, 1
    return args  # fmt: skip


# %%
# The study
# ---------
def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from reglab.data import balanced_subset, mnist_tensors
    from reglab.device import default_device
    from reglab.experiment import run_study, save_results, summarize
    from reglab.tables import Table

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    device = default_device() if args.device == "auto" else torch.device(args.device)

    X_train, y_train = mnist_tensors(train=True)
    X_test, y_test = mnist_tensors(train=False)
    smallest_class = int(torch.bincount(y_train).min())  # balanced: the rarest class limits
    per_class = smallest_class if args.n_train is None else min(args.n_train // 10, smallest_class)
    per_class = max(1, per_class)
    idx = balanced_subset(y_train, per_class, generator=torch.Generator().manual_seed(0))
    train_data = (X_train[idx], y_train[idx])
    test_data = (X_test[: args.n_test], y_test[: args.n_test])
    print(f"{len(idx)} training images ({per_class} per class), {len(test_data[0])} test images, "
          f"{args.epochs} epochs, {args.seeds} seed(s), device {device}")  # fmt: skip

    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        progress = lambda jobs: tqdm(jobs, desc="runs", unit="run")  # noqa: E731
    results = run_study(
        [SETTINGS[name] for name in args.settings], range(args.seeds), train_data, test_data,
        num_epochs=args.epochs, device=device, progress=progress,
    )  # fmt: skip
    json_path, csv_path = save_results(results, args.output)

    # %%
    # Summary table and figure
    # ------------------------
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reglab.plotting import plot_gaps

    rows = summarize(results)
    print(Table(
        ["setting", "train acc", "test acc", "± (seeds)", "gap"],
        [[r["setting"], r["train_acc"], r["test_acc"], r["test_acc_std"], r["gap"]] for r in rows],
        floatfmt=".3f",
    ))  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 3.6))
    plot_gaps(rows, ax)
    figure = args.output / "gaps.png"
    fig.savefig(figure, dpi=150, bbox_inches="tight")
    print(f"wrote {json_path}, {csv_path} and {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
