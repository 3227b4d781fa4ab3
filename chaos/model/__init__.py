"""The runbook, typed: its schema, the loader that validates YAML into it (errors with file:line)."""
