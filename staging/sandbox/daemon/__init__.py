"""What runs in the sandbox daemon process (``python -m staging.sandbox daemon``): moto's server, the WSGI
layer in front of it (API faults, the control API, EBS direct), the cloud model and the hooks.

The cloud model (:mod:`~staging.sandbox.daemon.cloud`) decides what happens on the machine and answers with
facts (:mod:`~staging.sandbox.daemon.facts`); only :mod:`staging.sandbox.daemon.hooks` imports moto and
touches its objects. Importing this package (or the model) does not import moto: moto reads its settings at
import, so only :func:`~staging.sandbox.daemon.process.run_daemon` loads it, after setting them.
"""
