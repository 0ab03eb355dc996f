"""notaus controller."""
