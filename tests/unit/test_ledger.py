"""The acknowledged-write ledger: a deleted acknowledged write and an unacknowledged extra one are found."""

from __future__ import annotations

import uuid

from chaos.load.classify import APP, ERROR, SHED, TIMEOUT
from chaos.load.ledger import WriteLedger


def _ledger() -> tuple[WriteLedger, list[str]]:
    ledger = WriteLedger()
    keys = [str(uuid.uuid4()) for _ in range(5)]
    for i, k in enumerate(keys):
        ledger.attempt(k, 1000.0 + i)
    for k in keys[:3]:
        ledger.answer(
            k, APP, 201, 1000.5, {"x-ent-replica": "app-sbg-1"}, {"replica": "app-sbg-2", "datacenter": "sbg"}
        )
    ledger.answer(keys[3], TIMEOUT, 0, 1010.0)
    ledger.answer(keys[4], SHED, 503, 1001.0, {"retry-after": "5"})
    return ledger, keys


def test_all_acked_present_is_clean() -> None:
    ledger, keys = _ledger()
    check = ledger.check(keys[:3])
    assert check.ok and check.lost == [] and check.unacked_present == [] and check.acknowledged == 3


def test_finds_deleted_acked_write_and_unacked_extra() -> None:
    ledger, keys = _ledger()
    # the DB lost keys[1]; the timed-out keys[3] was committed after all; one row nobody in this run wrote
    foreign = str(uuid.uuid4())
    check = ledger.check([keys[0], keys[2], keys[3].upper(), foreign])
    assert check.lost == [keys[1]]
    assert check.unacked_present == [keys[3]]
    assert check.foreign_present == 1
    assert not check.ok
    assert check.as_dict()["lost_acked_writes"] == 1


def test_only_201_from_a_replica_is_an_ack() -> None:
    ledger = WriteLedger()
    ledger.attempt("a", 0.0)
    ledger.answer("a", APP, 200, 1.0)  # not 201: not the commit acknowledgement
    ledger.attempt("b", 0.0)
    ledger.answer("b", ERROR, 201, 1.0)  # 201 without a replica header: not the app
    assert ledger.acknowledged_keys == set()


def test_replica_recorded_and_round_trip(tmp_path) -> None:
    ledger, keys = _ledger()
    assert ledger.attempts[keys[0]].replica == "app-sbg-2"
    path = ledger.write_jsonl(tmp_path / "ledger.jsonl")
    again = WriteLedger.read_jsonl(path)
    assert again.acknowledged_keys == ledger.acknowledged_keys
