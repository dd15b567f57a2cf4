"""The ``REGLAB_*`` variables the docs build reads (conf.py and the extensions beside this
file), read only through :data:`BUILD`. They are no part of the installed library:
``reglab.environment`` holds what the library reads, ``tests/conftest.py`` what the tests
read.
"""

from __future__ import annotations

from reglab.environment import Variables

#: Every variable the docs build reads, with what it does.
BUILD_VARIABLES: dict[str, str] = {
    "REGLAB_EXECUTE": "force re-executes every chapter regardless of the cache (default: cache)",
    "REGLAB_REPOSITORY_URL": "repository the site's source and Colab links point to "
    "(default: https://github.com/reglab/reglab)",
    "REGLAB_INSTALL_SPEC": "what a notebook's setup cell installs reglab from when it is "
    "missing, e.g. a local wheel (default: the repository at the commit the site was built from)",
    "REGLAB_INSTALL_REF": "git commit or tag the notebooks' setup cell installs reglab at "
    "(default: $GITHUB_SHA, else git rev-parse HEAD)",
    "REGLAB_GALLERY_QUICK": "0 runs the gallery's examples in full when the site is built "
    "(default: 1, their quick setting)",
}
BUILD = Variables(BUILD_VARIABLES)
