"""lbaudit: a policy-as-code compliance auditor for the network-socket layer."""

__version__ = "0.1.0"
