"""Runbooks: model (schema), loader (errors with file:line), plan, engine, journal.

Kept import-light on purpose: `chaos.faults` imports `chaos.runbook.stack`.
"""
