"""Network lab: a practice network in Linux network namespaces for end-to-end tests (root only)."""
