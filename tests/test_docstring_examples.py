"""Every `>>>` example in the toolkit's docstrings runs and prints what it shows.

Modules are discovered, so a new module's examples are tested without
registering it anywhere.
"""

import doctest
import importlib
import os
import pkgutil

import pytest

from tests.helpers.repo_root import REPO_ROOT

PACKAGES = ("layers", "pretrain", "tasks", "saved_models")


def modules_with_examples():
    for package in PACKAGES:
        for module in pkgutil.walk_packages([os.path.join(REPO_ROOT, package)], prefix=f"{package}."):
            if module.ispkg:
                continue
            path = os.path.join(REPO_ROOT, *module.name.split(".")) + ".py"
            with open(path, encoding="utf-8") as source:
                if ">>>" in source.read():
                    yield module.name


@pytest.mark.parametrize("module_name", sorted(modules_with_examples()))
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0
    assert results.failed == 0
