"""Device drivers, one module per device family, behind the interfaces in :mod:`drivers.base`."""
