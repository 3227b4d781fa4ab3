"""Reports, made from the journal only: summary.json, junit.xml, summary.md, report.html; and the console view."""
