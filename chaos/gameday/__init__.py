"""Game days: the people in the loop (operators that a manual step waits for, timed)."""
