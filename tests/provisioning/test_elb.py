"""Classic load balancers against moto: registration, health, listeners, zones, policies, tags, errors."""

from __future__ import annotations

import pytest

from provisioning import EC2, AWSError, ParameterError
from provisioning.elb import InstanceState, LoadBalancer

LISTENER = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}


@pytest.fixture
def lb(ec2: EC2) -> LoadBalancer:
    """A load balancer named ``web`` in us-east-1a."""
    dns = ec2.create_load_balancer(lb_name="web", listeners=[LISTENER], zones=["us-east-1a"])
    assert "web" in dns
    found: LoadBalancer = ec2.describe_load_balancers("web")[0]
    return found


def test_describe_gives_load_balancer(ec2: EC2, lb: LoadBalancer) -> None:
    """Load balancers come back as LoadBalancer objects that print as their name."""
    assert isinstance(lb, LoadBalancer) and str(lb) == "web"
    assert lb.availability_zones == ["us-east-1a"]
    assert [(x.protocol, x.load_balancer_port, x.instance_port) for x in lb.listeners] == [("HTTP", 80, 8080)]
    assert lb.refresh() is True and lb.dns_name


def test_register_health_deregister(ec2: EC2, lb: LoadBalancer) -> None:
    """Instances register (objects or ids), report health, and deregister."""
    i1, i2 = ec2.run_instances("ami-12345678", min_count=2)
    # AWS answers with every registered instance; moto 5.2.1 answers with an empty list (a moto lie).
    assert isinstance(lb.register_instances(i1, str(i2)), list)
    lb.refresh()
    assert sorted(map(str, lb.instances)) == sorted([str(i1), str(i2)])
    health = lb.describe_instance_health()
    assert sorted(map(str, health)) == sorted([str(i1), str(i2)])
    assert {h.state for h in health} == {"InService"}
    assert [str(h) for h in lb.describe_instance_health(i1)] == [str(i1)]
    assert isinstance(health[0], InstanceState) and str(health[0].instance()) == str(health[0])
    assert sorted(lb.healthy_instances()) == sorted([str(i1), str(i2)])
    assert isinstance(lb.deregister_instances_from_load_balancer(i1), list)  # moto: [] again
    lb.refresh()
    assert [str(x) for x in lb.instances] == [str(i2)]


def test_health_check_listeners_zones(ec2: EC2, lb: LoadBalancer) -> None:
    """Health checks, listeners and zones are changed through the object."""
    check = lb.configure_health_check(
        {
            "Target": "HTTP:8080/ping",
            "Interval": 30,
            "Timeout": 5,
            "UnhealthyThreshold": 2,
            "HealthyThreshold": 3,
        }
    )
    assert check.target == "HTTP:8080/ping"
    assert lb.create_listeners({"Protocol": "TCP", "LoadBalancerPort": 2222, "InstancePort": 22}) is True
    lb.refresh()
    assert sorted(x.load_balancer_port for x in lb.listeners) == [80, 2222]
    assert lb.delete_listeners(2222) is True
    assert sorted(lb.enable_zones("us-east-1b")) == ["us-east-1a", "us-east-1b"]
    assert lb.disable_availability_zones("us-east-1a") == ["us-east-1b"]


def test_policies_and_attributes(ec2: EC2, lb: LoadBalancer) -> None:
    """Stickiness and other policies are created, set on listeners, listed and deleted."""
    assert lb.create_lb_cookie_stickiness_policy("sticky", 60) is True
    assert lb.create_app_cookie_stickiness_policy("app-sticky", "SESSION") is True
    assert lb.set_policies_of_listener(80, ["sticky"]) is True
    names = {str(p.policy_name) for p in lb.describe_policies()}
    assert {"sticky", "app-sticky"} <= names
    assert lb.create_policy(
        "proxy",
        "ProxyProtocolPolicyType",
        policy_attributes=[{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}],
    )
    assert lb.set_policies_for_backend_server(8080, ["proxy"]) is True
    assert lb.delete_policy("app-sticky") is True
    assert lb.modify_attributes(cross_zone_load_balancing={"Enabled": True})
    assert lb.attributes().cross_zone_load_balancing.enabled is True


def test_vpc_balancer_subnets_and_groups(ec2: EC2) -> None:
    """A VPC balancer takes security groups and moves between subnets."""
    vpc = ec2.create_vpc(cidr_block="10.0.0.0/16")
    s1 = vpc.create_subnet("10.0.1.0/24", "us-east-1a")
    s2 = vpc.create_subnet("10.0.2.0/24", "us-east-1b")
    group = ec2.create_security_group("lb", "lb group", vpc_id=vpc)
    ec2.create_load_balancer(lb_name="inner", listeners=[LISTENER], subnets=[s1], scheme="internal")
    lb = ec2.describe_load_balancers("inner")[0]
    assert lb.apply_security_groups(group) == [str(group)]
    assert sorted(lb.attach_to_subnets(s2)) == sorted([str(s1), str(s2)])
    assert lb.detach_from_subnets(s1) == [str(s2)]


def test_tags(ec2: EC2, lb: LoadBalancer) -> None:
    """ELB tags use ELB's own calls: add, read (one DescribeTags), remove."""
    assert lb.add_tags(Role="web", Stage="test") is True
    assert lb.tags == {"Role": "web", "Stage": "test"}
    assert lb.delete_tags("Stage") is True
    assert lb.tags == lb.current_tags() == {"Role": "web"}


def test_delete(ec2: EC2, lb: LoadBalancer) -> None:
    """delete() removes the balancer; a refresh then finds nothing."""
    assert lb.delete() is True
    assert ec2.describe_load_balancers() == []


def test_errors_both_modes(ec2: EC2, moto_endpoint: str, lb: LoadBalancer) -> None:
    """Unknown balancers and bad arguments fail: raise, or None/[] with the error set."""
    with pytest.raises(AWSError) as info:
        ec2.describe_load_balancers("nope")
    assert "LoadBalancerNotFound" in info.value.code
    ghost = LoadBalancer({"LoadBalancerName": "ghost"}, ec2)
    with pytest.raises(AWSError):
        ghost.describe_instance_health()
    with pytest.raises(ParameterError):
        lb.delete_policy("a", "b")

    quiet = EC2(endpoint=moto_endpoint, region="us-east-1", raise_error=False)
    assert quiet.describe_load_balancers("nope") == [] and quiet.is_error
    loose = quiet.describe_load_balancers("web")[0]
    assert not quiet.is_error
    # moto accepts unknown instance ids here (AWS answers InvalidInstance), so no failure to check.
    assert isinstance(loose.register_instances("i-12345678"), list)
    ghost = LoadBalancer({"LoadBalancerName": "ghost"}, quiet)
    assert ghost.describe_instance_health() is None
    assert quiet.is_error and isinstance(quiet.error, AWSError)
    assert ghost.healthy_instances() is None and quiet.error_str
    assert ghost.error_str == quiet.error_str


def test_service_proxies_follow_the_facade_error_mode(ec2: EC2) -> None:
    """ec2.elb uses the façade's current raise_error and reports failures on ec2.error."""
    elb = ec2.elb  # made while the façade raises
    ec2.raise_error = False
    assert elb.describe_load_balancers("no-such-lb") == []
    assert ec2.is_error and elb.error is ec2.error
    elb.raise_error = True  # one switch for both
    assert ec2.raise_error is True
    with pytest.raises(AWSError):
        elb.describe_load_balancers("no-such-lb")


def test_objects_made_through_a_proxy_can_wait(ec2: EC2, lb: LoadBalancer) -> None:
    """An object made through ``ec2.elb`` holds the proxy as its Caller, waits included: an instance it
    leads to stops and waits (with ec2's wait settings), where it failed with an AttributeError once
    StopInstances had been sent."""
    (instance,) = ec2.run_instances("ami-12345678")
    lb.register_instances(instance)
    ec2.wait_sleep = lambda seconds: None  # moto stops at once; nothing sleeps
    (health,) = ec2.elb.describe_instance_health(lb)
    reached = health.instance()
    assert reached.ec2 is ec2.elb
    assert reached.stop(wait=True) is not None and reached.instance_state.name == "stopped"
