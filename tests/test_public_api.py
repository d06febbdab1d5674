"""Each package's ``__all__`` is exactly its public namespace (httpx's test_exported_members)."""

from __future__ import annotations
import __future__

import importlib
import inspect

import pytest

PACKAGES = ["provisioning", "transfer", "staging"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_matches_public_names(name: str) -> None:
    """Every public, non-module name is in __all__, and everything in __all__ exists."""
    pkg = importlib.import_module(name)
    exported = set(getattr(pkg, "__all__", ()))
    public = {  # dir(), not vars(): a package face may load some names lazily (transfer's test helpers)
        n
        for n in dir(pkg)
        if not n.startswith("_")
        and not inspect.ismodule(v := getattr(pkg, n))
        and not isinstance(v, __future__._Feature)
    }
    assert public == exported
    for n in exported:
        assert hasattr(pkg, n), n


def test_facade_is_the_entry_point() -> None:
    """provisioning.EC2 is the one obvious entry point and carries every service."""
    from provisioning import EC2

    assert EC2.services == ("ec2", "elb", "autoscaling", "rds", "sts", "ebs")
