"""notaus api."""
