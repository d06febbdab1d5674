"""Sweeps over every operation of the five services: names resolve, the translator never crashes."""

from __future__ import annotations

import csv
import pathlib
from typing import Any

import pytest

from provisioning import EC2
from provisioning.arguments import primary_members, translate
from provisioning.errors import ParameterError
from provisioning.naming import SERVICES, operation_index, operation_model, service_model

ALL_OPS = [(s, op) for s in SERVICES for op in service_model(s).operation_names]
METHODS_TSV = pathlib.Path(__file__).resolve().parent.parent / "data" / "vmec2_methods.tsv"
METHODS_DETAIL = pathlib.Path(__file__).resolve().parent.parent / "data" / "vmec2_methods_detail.tsv"


def test_five_services_have_all_their_operations() -> None:
    """The sweep covers every operation of ec2, elb, autoscaling, rds and sts (hundreds of them)."""
    assert len(ALL_OPS) > 1000
    for service in SERVICES:
        assert len(operation_index(service)) == len(service_model(service).operation_names)


@pytest.mark.parametrize("service", SERVICES)
def test_translator_handles_every_operation(service: str) -> None:
    """No arguments, one positional, and a filter dict: each either translates or raises ParameterError,
    and translating twice gives the same result."""
    for op in service_model(service).operation_names:
        model = operation_model(service, op)
        attempts: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
            ((), {}),
            (("x-1",), {}),
            (({"a": "b"},), {}),
        ]
        for args, kwargs in attempts:
            try:
                first = translate(service, model, args, kwargs)
            except ParameterError:
                continue
            assert first == translate(service, model, args, kwargs), (service, op, args)
        assert primary_members(service, model) == primary_members(service, model)


def test_every_operation_is_an_attribute_of_the_ec2_facade(moto_server: str) -> None:
    """Each operation resolves by snake_case and MixedCase on its service's façade, and EC2's on EC2."""
    ec2 = EC2(endpoint=moto_server)
    proxies = {
        "ec2": ec2,
        "elb": ec2.elb,
        "autoscaling": ec2.autoscaling,
        "rds": ec2.rds,
        "sts": ec2.sts,
        "ebs": ec2.ebs,
    }
    from provisioning.naming import snake

    for service, op in ALL_OPS:
        facade = proxies[service]
        fn = getattr(facade, snake(op))
        assert (fn.service, fn.operation) == (service, op)
        assert getattr(facade, op).operation == op
    names = set(dir(ec2))
    assert {"describe_instances", "run_instances", "describe_load_balancers", "get_federation_token"} <= names


def _vmec2_rows() -> list[dict[str, str]]:
    with METHODS_DETAIL.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


#: Rows of methods.tsv that are Perl plumbing with no meaning in Python (transport, parameter builders).
NOT_APPLICABLE_KINDS = {"internal", "transport"}


def test_every_vmec2_api_method_resolves(moto_server: str) -> None:
    """Every method of VM::EC2's API (methods.tsv) is callable on EC2 under its VM::EC2 name."""
    ec2 = EC2(endpoint=moto_server)
    missing = []
    for row in _vmec2_rows():
        method, action, service = row["method"], row["aws_action"], row["service"]
        if row["kind"] in NOT_APPLICABLE_KINDS:
            continue
        if "|" in action or action in ("-", "(any)", "login", "(federation)"):
            continue
        short = {"elasticloadbalancing": "elb"}.get(service, service)
        if short not in SERVICES:
            continue
        fn = getattr(ec2, method, None)
        if fn is None:
            missing.append(method)
        elif hasattr(fn, "operation") and (fn.service, fn.operation) != (short, action):
            missing.append(f"{method} -> {fn.service}:{fn.operation}, expected {short}:{action}")
    assert not missing, missing
