"""Journeys declared in YAML: checked at load (file:line), played against a server that is not the ENT."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from chaos.errors import InvalidInput, RunbookInvalid
from chaos.load.journey_spec import ent_journeys, parse_journeys
from chaos.load.journeys import _PlayedStep, journeys_of, json_path
from chaos.load.reference_server import Reply
from chaos.load.schedule import constant
from chaos.model.loader import load_runbook
from tests.unit.test_load_runner import run_against

SHOP = textwrap.dedent("""\
    journeys:
      buy:
        weight: 2
        vars:
          item: {random_int: {min: 1, max: 9, pad: 3}}
          order: {uuid4: true}
          note: {choice: ["a b/c"]}
        headers: {Authorization: "Bearer ${session}"}
        steps:
          - name: sign_in
            method: POST
            path: /session
            form: {user: "u${item}", password: x}
            expect: [200]
            extract:
              session: {header: X-Session}
              cart: {json: cart.id}
              greeting: {regex: 'hello (\\w+)'}
          - name: item
            path: "/items/${item}/notes/${note}"
            extract: {price: {json: "prices.*", pick: random}, missing: {json: nothing.here}}
          - name: order
            method: POST
            path: "/carts/${cart}/orders"
            json: {key: "${order}", cart: "${cart}", who: "${greeting}"}
            expect: [201]
            ledger_key: "${order}"
          - name: after
            path: "/never/${missing}"
      look:
        steps:
          - {name: home, path: /}
    """)


class Shop:
    """A small shop that is not the ENT: no marker headers, a session header, JSON and text bodies."""

    def __init__(self, order_status: int = 201) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.order_status = order_status

    def __call__(self, method: str, path: str, body: bytes) -> Reply:
        self.seen.append((method, path, body))
        if path == "/session":
            return Reply(200, {"X-Session": "s-1", "Content-Type": "application/json"},
                         json.dumps({"cart": {"id": 42}, "msg": "hello Ada"}).encode())
        if path.startswith("/items/"):
            return Reply(200, {}, json.dumps({"prices": {"eur": 3, "usd": 4}}).encode())
        if path.startswith("/carts/"):
            return Reply(self.order_status, {}, b"{}")
        return Reply(200, {}, b"home")


def shop_file(tmp_path: Path, text: str = SHOP) -> Path:
    path = tmp_path / "journeys.yaml"
    path.write_text(text)
    return path


def test_the_ents_journeys_are_declared_in_the_bundled_file() -> None:
    journeys = ent_journeys().journeys
    assert set(journeys) == {"pupil", "teacher", "virtual_class", "login", "flood"}
    played = journeys_of(journeys)
    assert played["flood"].run is None and played["flood"].constant == ("GET", "/")  # the fast path
    assert all(played[n].run is not None for n in ("pupil", "teacher", "virtual_class", "login"))
    assert [s.name for s in played["pupil"].steps][-1] == "pupil.submit" and played["pupil"].steps[-1].write


def test_a_shop_journey_extracts_fills_and_records_its_acknowledged_writes(tmp_path: Path) -> None:
    shop = Shop()
    res = run_against(shop, {"schedule": constant(20, 0.5), "mix": {"buy": 1}, "seed": 3, "served_by": "status",
                             "journeys_file": str(shop_file(tmp_path))})
    summary = res.stats.summary()
    assert summary["by_class"]["app"] == res.stats.total == 30  # 10 journeys x 3 steps: `after` never sent
    assert set(summary["steps"]) == {"buy.sign_in", "buy.item", "buy.order", "buy.after"}
    assert summary["steps"]["buy.after"]["count"] == 0  # needs a value no answer gave: the journey ends there
    sign_in = next(b for m, p, b in shop.seen if p == "/session")
    assert parse_qs(sign_in.decode())["user"][0] in {f"u{n:03d}" for n in range(1, 10)}  # form, padded
    assert any(re.fullmatch(r"/items/00[1-9]/notes/a%20b%2Fc", p) for _, p, _ in shop.seen)  # quoted in a path
    order = json.loads(next(b for m, p, b in shop.seen if p == "/carts/42/orders"))  # extracted from JSON
    assert order["cart"] == 42 and order["who"] == "Ada"  # a whole placeholder keeps its type; a regex group
    assert len(res.ledger.acknowledged_keys) == 10 and order["key"] in res.ledger.acknowledged_keys
    assert sum(res.stats.window(0, 10).failed_journeys_by_class().values()) == 0


def test_an_unexpected_status_fails_the_journey_and_its_write_is_not_acknowledged(tmp_path: Path) -> None:
    res = run_against(Shop(order_status=200), {"schedule": constant(20, 0.5), "mix": {"buy": 1}, "seed": 3,
                                               "served_by": "status", "journeys_file": str(shop_file(tmp_path))})
    assert len(res.ledger.attempts) == 10 and not res.ledger.acknowledged_keys
    window = res.stats.window(0, 10)
    assert window.failed_journeys_by_class() == {"error": 10}
    summary = res.stats.summary()
    assert summary["steps"]["buy.order"]["by_class"]["error"] == 10  # a request failed, not served
    assert summary["steps"]["buy.after"]["count"] == 0  # the journey ended at its failed step


def test_journey_headers_are_sent_once_their_values_are_known() -> None:
    spec = parse_journeys(SHOP, "shop.yaml").journeys["buy"]
    first = _PlayedStep("buy", spec.steps[0], spec.headers).request({"item": "007"}, "shop")
    later = _PlayedStep("buy", spec.steps[1], spec.headers).request(
        {"item": "007", "note": "n", "session": "s\r\nX-Evil: 1"}, "shop")
    assert b"Authorization" not in first and b"Content-Type: application/x-www-form-urlencoded" in first
    assert b"Authorization: Bearer s  X-Evil: 1\r\n" in later  # a value cannot add a header line


def test_a_dotted_json_path() -> None:
    data = {"user": {"class_id": 7}, "items": [{"id": 1}, {"id": 2}, {"name": "x"}]}
    assert json_path(data, "user.class_id") == [7]
    assert json_path(data, "items.*.id") == [1, 2]
    assert json_path(data, "items.1.id") == [2]
    assert json_path(data, "user") == [] and json_path(None, "a") == []


@pytest.mark.parametrize(("change", "at", "words"), [
    (("form: {user: \"u${item}\", password: x}", "form: {user: \"u${cart}\", password: x}"), "- name: sign_in",
     "${cart}"),  # extracted only later
    (("greeting: {regex: 'hello (\\w+)'}", "greeting: {regex: 'hello ('}"), "greeting:", "regular expression"),
    (("- name: item", "- name: sign_in"), "steps:", "used once"),
    (("json: {key:", "form: {a: b}\n        json: {key:"), "- name: order", "not both"),
    (("path: /session", "path: session"), "path: session", "pattern"),
])
def test_a_broken_journey_is_refused_at_its_line(change: tuple[str, str], at: str, words: str) -> None:
    text = SHOP.replace(*change)
    assert text != SHOP
    line = next(i for i, t in enumerate(text.splitlines(), 1) if at in t)
    with pytest.raises(InvalidInput) as err:
        parse_journeys(text, "shop.yaml")
    assert f"shop.yaml:{line}" in (err.value.where or "") + err.value.message
    assert words in err.value.message


RUNBOOK = """\
metadata: {name: shop, description: a shop's journeys}
load:
  profile: constant:5
  duration_s: 5
  journeys_file: {file}
  journeys: {mix}
steps:
  - {id: held, wait-for: constant, params: {value: 1}, until: {eq: 1}, timeout_s: 5}
"""


def runbook_text(file: str | None, mix: str) -> str:
    text = RUNBOOK.replace("{mix}", mix)
    return text.replace("{file}", file) if file else text.replace("  journeys_file: {file}\n", "")


def test_a_runbook_names_its_journeys_file_checked_when_it_loads(tmp_path: Path) -> None:
    shop_file(tmp_path)
    good = tmp_path / "good.yaml"
    good.write_text(runbook_text("journeys.yaml", "{buy: 1, look: 3}"))
    runbook = load_runbook(good)
    assert runbook.load is not None and runbook.load.journeys_file == str(tmp_path / "journeys.yaml")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(runbook_text("journeys.yaml", "{pupil: 1}"))
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(unknown)
    assert "unknown.yaml:6" in str(err.value.where) and "journeys among buy, look" in err.value.message
    assert "unknown: pupil" in err.value.message
    outside = tmp_path / "outside.yaml"
    outside.write_text(runbook_text("../journeys.yaml", "{buy: 1}"))
    with pytest.raises(RunbookInvalid, match="inside the runbook's folder"):
        load_runbook(outside)
    (tmp_path / "broken.yaml").write_text(SHOP.replace("${cart}/orders", "${basket}/orders"))
    broken = tmp_path / "uses-broken.yaml"
    broken.write_text(runbook_text("broken.yaml", "{buy: 1}"))
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(broken)
    line = next(i for i, t in enumerate(SHOP.splitlines(), 1) if "- name: order" in t)
    assert f"found problems at broken.yaml:{line}: journeys.buy.steps[2]: " in err.value.message
    assert "${basket}" in err.value.message


def test_without_a_file_the_mix_names_the_ents_journeys(tmp_path: Path) -> None:
    path = tmp_path / "ent.yaml"
    path.write_text(runbook_text(None, "{pupil: 1, buy: 1}"))
    with pytest.raises(RunbookInvalid, match="pupil, teacher, virtual_class, login, flood"):
        load_runbook(path)


def test_a_capacity_ramp_names_the_runbooks_journeys(tmp_path: Path) -> None:
    shop_file(tmp_path)
    text = runbook_text("journeys.yaml", "{buy: 1}").replace(
        "steps:\n", "steps:\n  - {id: cap, probe: capacity, params: {to_rps: 50, journeys: {JOURNEY: 1}}, "
        "record: capacity_rps}\n")
    (tmp_path / "ok.yaml").write_text(text.replace("JOURNEY", "look"))
    load_runbook(tmp_path / "ok.yaml")
    (tmp_path / "ent.yaml").write_text(text.replace("JOURNEY", "login"))  # the ENT's, not this runbook's
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(tmp_path / "ent.yaml")
    assert "steps[0].params.journeys" in err.value.message and "found unknown: login" in err.value.message
