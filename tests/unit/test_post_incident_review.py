from __future__ import annotations

from chaos.report.markdown import post_incident_review, review_md, summary_md


def summary(manual_ok: bool = True, failed_check: bool = False) -> dict:
    return {
        "runbook": "gameday", "verdict": "pass", "metrics": {"ttd_s": 2.1},
        "checks": [{"name": "rto_s", "expected": "<= 30", "observed": 45 if failed_check else 12,
                    "passed": not failed_check}],
        "faults": [{"step_id": "fire", "fault": "datacenter-fire", "targets": ["app-sbg-1"], "injected_t_s": 1.0,
                    "reverted_t_s": 40.0, "reverted_by": "rebuild"}],
        "steps": [
            {"phase": "steps", "step_id": "fire", "kind": "fault", "start_t_s": 1.0, "duration_s": 1.2, "ok": True,
             "error": None, "description": "fire"},
            {"phase": "steps", "step_id": "declare", "kind": "manual", "start_t_s": 3.0, "duration_s": 20.5,
             "ok": manual_ok, "error": None, "description": "Declare the incident"},
            {"phase": "steps", "step_id": "failover", "kind": "playbook", "start_t_s": 23.5, "duration_s": 7.0,
             "ok": True, "error": None, "description": "run playbook failover-database"},
        ],
    }


def test_a_run_without_people_has_no_review():
    s = summary()
    s["steps"] = [st for st in s["steps"] if st["kind"] != "manual"]
    assert post_incident_review(s) == []


def test_review_orders_the_timeline_and_times_people():
    text = summary_md(summary())
    assert "## Post-incident review" in text
    timeline = text[text.index("### Timeline"):text.index("### What people did")]
    assert timeline.index("datacenter-fire") < timeline.index("declare done") < timeline.index("failover done")
    assert "| declare | - | Declare the incident | 20.5 | — | done |" in text  # no answer journaled: no role
    assert "every check passed" in text


def test_review_lists_what_failed_and_who_was_late():
    text = summary_md(summary(manual_ok=False, failed_check=True))
    assert "not done in time" in text
    assert "- rto_s: expected <= 30, observed 45" in text


def test_the_review_has_who_answered_what_and_when_their_notes_and_room_for_the_team():
    s = summary()
    s["people"] = [
        {"t_s": 12.0, "step_id": None, "action": "note", "role": "communications", "text": "press calls | rising",
         "by": "page", "after_first_fault_s": 11.0},
        {"t_s": 23.5, "step_id": "declare", "action": "skip", "role": "incident-commander",
         "text": "declared by phone", "by": "page", "after_first_fault_s": 22.5},
    ]
    review = review_md({**s, "exit_code": 0, "reason": ""}) or ""
    assert review.startswith("# Review: gameday")
    row = "| declare | incident-commander | Declare the incident | 20.5 | 22.5 | skipped: declared by phone |"
    assert row in review
    assert "- t+12.0 s, communications: press calls \\| rising" in review  # the table cell's bar escaped
    assert "declare skipped (incident-commander, 20.5 s)" in review
    for section in ("### What went well", "### What to change", "### Actions"):
        assert section in review
    assert review_md({**s, "steps": [st for st in s["steps"] if st["kind"] != "manual"]}) is None
