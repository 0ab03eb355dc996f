"""notaus policies."""
