"""Data: MNIST from a configurable root, validation splits, augmentation, mixing and
input noise.

May import: ``reglab._checks``, ``reglab.environment``.
Imported by: ``reglab.train``, ``reglab.studies``.
"""

from reglab.data.augment import affine, mnist_augmentation, random_affine, sample_affine_params
from reglab.data.labels import corrupt_labels
from reglab.data.mixing import cutmix, cutmix_box, mixup, mixup_or_cutmix, sample_lambda
from reglab.data.mnist import (
    MNIST_FILES,
    MNIST_MEAN,
    MNIST_STD,
    DatasetCorruptError,
    DatasetNotFoundError,
    balanced_subset,
    data_root,
    load_mnist,
    mnist_tensors,
    read_idx_header,
)
from reglab.data.noise import (
    add_input_noise,
    axis_noise,
    noise_penalty_monte_carlo,
    noise_penalty_taylor,
    noisy_least_squares_sgd,
    ridge_solution,
)
from reglab.data.splits import draw_train_val, train_val_indices, train_val_split

__all__ = [
    "MNIST_FILES",
    "MNIST_MEAN",
    "MNIST_STD",
    "DatasetCorruptError",
    "DatasetNotFoundError",
    "add_input_noise",
    "affine",
    "axis_noise",
    "balanced_subset",
    "corrupt_labels",
    "cutmix",
    "cutmix_box",
    "data_root",
    "draw_train_val",
    "load_mnist",
    "mixup",
    "mixup_or_cutmix",
    "mnist_augmentation",
    "mnist_tensors",
    "noise_penalty_monte_carlo",
    "noise_penalty_taylor",
    "noisy_least_squares_sgd",
    "random_affine",
    "read_idx_header",
    "ridge_solution",
    "sample_affine_params",
    "sample_lambda",
    "train_val_indices",
    "train_val_split",
]
