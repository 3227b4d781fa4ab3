"""Remediation playbooks: typed parameters, the facts the toolkit gives them, the ansible-runner call."""
