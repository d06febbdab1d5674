"""What runs in the caller's process: the :class:`~staging.sandbox.Sandbox` handle, the ``vmec2-sandbox``
command line, the machine check before a start (preflight) and ``down`` (teardown from the state file).

Nothing here imports moto: the cloud itself runs in the daemon (:mod:`staging.sandbox.daemon`), which the
client starts as ``python -m staging.sandbox daemon`` and talks to over HTTP and the state file.
"""
