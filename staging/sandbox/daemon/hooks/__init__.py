"""The only code that touches moto's objects: wrappers around moto's ``EC2Backend`` methods and response
handlers that check what AWS checks, call moto, ask the cloud model what happens on the machine and apply
the facts it answers to moto's objects. Installed once, in the daemon, before serving
(:func:`staging.sandbox.daemon.hooks.install.install`).
"""
