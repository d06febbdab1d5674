"""Object classes are registered in one visible place and sit below the façade (issue 12).

* every module that registers a class (``@register_class``) is imported by name in ``catalog.py``,
  and the façade imports the catalogue, so no class is missed and none is found by discovery;
* the object modules never import the façade or its mixins at run time (type-only references are allowed);
* the class registry is beside ``AWSObject``: objects.py does not need dispatch.
"""

from __future__ import annotations

import ast
import pathlib

import provisioning
from provisioning import EC2, catalog
from provisioning.dispatch import dispatch
from provisioning.objects import AWSObject, classes

PACKAGE = pathlib.Path(provisioning.__file__).parent

#: The modules above the object classes: what builds and runs a call, or imports every class.
ABOVE = {"facade", "extras", "catalog", "waiters", "pagers", "operations"}


def _module(path: pathlib.Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _runtime_imports(path: pathlib.Path) -> set[str]:
    """The provisioning modules ``path`` imports at run time (not under ``TYPE_CHECKING``), as dotted
    names relative to the package (``ec2._base``, ``facade``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    here = _module(path).split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only or not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = [*here[: len(here) - node.level + 1], *(node.module.split(".") if node.module else [])]
        for alias in node.names:
            found.add(".".join([*base, alias.name]).strip("."))
            found.add(".".join(base))
    return found


def _registering_modules() -> set[str]:
    return {
        _module(path)
        for path in PACKAGE.rglob("*.py")
        if "@register_class(" in path.read_text(encoding="utf-8") and path.name != "objects.py"
    }


def test_catalog_names_every_module_that_registers_a_class() -> None:
    """A new object module that is not added to the catalogue fails here, not in a user's call."""
    listed = {m.__name__.removeprefix("provisioning.") for m in map(catalog.__dict__.get, catalog.__all__)}
    assert _registering_modules() <= listed
    assert "catalog" in _runtime_imports(PACKAGE / "facade.py")


def test_object_modules_sit_below_the_facade() -> None:
    """No object module imports the façade, its mixins or the catalogue at run time."""
    for name in _registering_modules() | {"ec2._base", "objects", "dispatch", "waiting"}:
        imported = _runtime_imports(PACKAGE / f"{name.replace('.', '/')}.py")
        assert not imported & ABOVE, (name, imported & ABOVE)


def test_the_registry_is_beside_awsobject() -> None:
    """objects.py wraps nested structures from its own registry; dispatch's spellings delegate to it."""
    assert "dispatch" not in _runtime_imports(PACKAGE / "objects.py")
    assert dispatch.classes is classes
    assert dispatch.class_for("ec2", "Instance") is classes.class_for("ec2", "Instance") is not AWSObject
    assert EC2.services  # the façade (and so the catalogue) is imported with the package
