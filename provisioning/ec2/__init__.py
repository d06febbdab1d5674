"""EC2 object classes, grouped by feature area (``instance``, ``volume``, ``network``...).

The package imports nothing itself: :mod:`provisioning.catalog` imports every module by name, which
registers its classes.
"""
