"""EC2 object classes; importing this package registers them with :data:`provisioning.dispatch.dispatch`."""
