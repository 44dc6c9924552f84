"""Registry of checks and the pure evaluation of a policy against a snapshot."""
