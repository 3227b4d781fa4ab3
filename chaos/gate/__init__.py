"""The CI gate: runbooks run in their quick variant, one combined verdict, regression against a baseline."""
