"""Open-model load: schedules by the clock, a raw keep-alive HTTP client, journeys, HDR statistics, a write ledger."""
