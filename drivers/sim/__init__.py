"""Simulators of the devices notaus drives: used by ``make run``, the tests and providers trying a policy."""
