"""Test support shipped with the library: moto's EC2 server on loopback, for examples and users' tests.

``with moto_server() as endpoint: EC2(endpoint=endpoint)`` gives a real HTTP endpoint that boto3 talks to
exactly as it talks to AWS, with no account and nothing leaving the machine. Needs the ``sandbox`` or ``test``
extra (``moto[server]``); for real SSH hosts and block devices behind the API use :mod:`staging.sandbox`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["moto_server"]


@contextmanager
def moto_server(host: str = "127.0.0.1", *, fake_credentials: bool = True) -> Iterator[str]:
    """Run moto's threaded HTTP server for the block; yields its endpoint URL.

    Args:
        host: The loopback address to listen on (a free port is picked).
        fake_credentials: Set fake ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` when none are set, so
            boto3 signs requests without looking for real ones.

    Raises:
        ImportError: moto is not installed (``pip install 'vmec2-staging[sandbox]'``).
    """
    from moto.server import ThreadedMotoServer

    if fake_credentials:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # moto's 1,300 default AMIs make the first EC2 call and every unfiltered describe_images cost ~2 s.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    try:
        bound_host, port = server.get_host_and_port()
        yield f"http://{bound_host}:{port}"
    finally:
        server.stop()
