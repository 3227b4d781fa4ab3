from __future__ import annotations

from chaos.stack.labels import select, target_from_attrs


def attrs(name: str, dc: str, role: str, chaos: bool = True) -> dict:
    labels = {
        "entchaos.datacenter": dc,
        "entchaos.role": role,
        "com.docker.compose.service": name,
    }
    if chaos:
        labels["entchaos.chaos"] = "allowed"
    return {
        "Id": name + "-id",
        "Name": "/proj-" + name + "-1",
        "Config": {"Labels": labels},
        "State": {"Status": "running", "Health": {"Status": "healthy"}},
        "NetworkSettings": {"Networks": {"proj_backbone": {}}},
    }


TARGETS = [
    target_from_attrs(attrs("app-sbg-1", "sbg", "app")),
    target_from_attrs(attrs("app-rbx-1", "rbx", "app")),
    target_from_attrs(attrs("db-sbg", "sbg", "db")),
    target_from_attrs(attrs("edge", "national", "edge", chaos=False)),
]


def test_target_reads_labels_and_state():
    t = TARGETS[0]
    assert (t.service, t.datacenter, t.role, t.chaos_allowed) == ("app-sbg-1", "sbg", "app", True)
    assert t.health == "healthy" and t.networks == ("proj_backbone",)


def test_select_by_datacenter_takes_every_role_there():
    assert [t.service for t in select(TARGETS, {"datacenter": "sbg"})] == ["app-sbg-1", "db-sbg"]


def test_select_never_returns_containers_not_allowed_for_chaos():
    assert select(TARGETS, {"role": "edge"}) == []
    assert [t.service for t in select(TARGETS, {"role": "edge"}, chaos_only=False)] == ["edge"]


def test_select_combines_criteria():
    assert [t.service for t in select(TARGETS, {"datacenter": "rbx", "role": "app"})] == ["app-rbx-1"]
    assert select(TARGETS, {"datacenter": "gra"}) == []
