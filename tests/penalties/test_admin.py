"""Spec 8: arbitrators confirm or waive penalties in the admin, through the services."""

from __future__ import annotations

import pytest

from core.models import HistoryEntry
from penalties.models import Penalty
from tests.disputes.factories import DisputeFactory
from tests.factories import ShopFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db

LIST = "/admin/penalties/penalty/"


def penalty(**kwargs) -> Penalty:
    d = DisputeFactory(**kwargs)
    return Penalty.objects.create(shop=d.shop, kind="dispute_no_answer", dispute=d)


@pytest.mark.parametrize(
    "make_user",
    [lambda: UserFactory(is_staff=True), lambda: merchant_of(ShopFactory(), user__is_staff=True)],
    ids=["plain-staff", "staff-merchant"],
)
def test_a_non_arbitrator_cannot_reach_the_penalties(client, make_user):
    p = penalty()
    client.force_login(make_user())
    for url in (LIST, f"{LIST}{p.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_list_filters_by_state_kind_and_shop(client, arbitrator, django_assert_max_num_queries):
    # given penalties of three shops, one already waived
    a, b, c = penalty(), penalty(), penalty()
    Penalty.objects.for_system().filter(pk=c.pk).update(state="waived")
    client.force_login(arbitrator)
    # when the arbitrator opens the list, then it costs a few queries, however many rows
    with django_assert_max_num_queries(10):
        response = client.get(LIST)
    assert response.status_code == 200
    assert {p.pk for p in response.context["cl"].result_list} == {a.pk, b.pk, c.pk}

    def shown(**params) -> set[int]:
        return {p.pk for p in client.get(LIST, params).context["cl"].result_list}

    assert shown(state="proposed") == {a.pk, b.pk}
    assert shown(kind="dispute_no_answer", state="waived") == {c.pk}
    assert shown(jd_shop_id=b.shop.jd_shop_id) == {b.pk}
    assert shown(jd_shop_id="no-such-shop") == set()
    assert shown(q=a.shop.jd_shop_id) == {a.pk}
    # and ten more rows cost no more queries
    for _ in range(10):
        penalty()
    with django_assert_max_num_queries(10):
        assert len(client.get(LIST).context["cl"].result_list) == 13


def test_the_change_page_is_read_only_and_shows_the_evidence(client, arbitrator):
    p = penalty()
    client.force_login(arbitrator)
    html = client.get(f"{LIST}{p.pk}/change/").content.decode()
    assert f"/admin/disputes/dispute/{p.dispute_id}/change/" in html
    assert 'name="_save"' not in html
    assert client.post(f"{LIST}{p.pk}/change/", {"state": "waived"}).status_code == 403
    assert Penalty.objects.for_system().get(pk=p.pk).state == "proposed"


def test_the_confirm_action_confirms_the_proposed_and_reports_the_decided(client, arbitrator):
    proposed, decided = penalty(), penalty()
    Penalty.objects.for_system().filter(pk=decided.pk).update(state="waived")
    client.force_login(arbitrator)
    response = client.post(
        LIST,
        {"action": "confirm_penalties", "_selected_action": [proposed.pk, decided.pk]},
        follow=True,
    )
    assert sorted(m.level_tag for m in response.context["messages"]) == ["error", "success"]
    assert Penalty.objects.for_system().get(pk=proposed.pk).state == "confirmed"
    assert Penalty.objects.for_system().get(pk=proposed.pk).decided_by == arbitrator
    assert Penalty.objects.for_system().get(pk=decided.pk).state == "waived"


def test_waiving_asks_for_a_note_first(client, arbitrator):
    # given two proposed penalties
    ps = [penalty(), penalty()]
    ids = [p.pk for p in ps]
    client.force_login(arbitrator)
    # when the arbitrator chooses "waive", then a page asks why, and nothing changes yet
    response = client.post(LIST, {"action": "waive_penalties", "_selected_action": ids})
    assert response.status_code == 200 and "form" in response.context
    assert set(Penalty.objects.for_system().values_list("state", flat=True)) == {"proposed"}
    # when sent without a note, then the form says so
    response = client.post(
        LIST, {"action": "waive_penalties", "_selected_action": ids, "apply": "1", "note": " "}
    )
    assert response.status_code == 200 and response.context["form"].errors["note"]
    assert set(Penalty.objects.for_system().values_list("state", flat=True)) == {"proposed"}
    # when sent with a note, then both are waived with it, each with its history entry
    response = client.post(
        LIST,
        {"action": "waive_penalties", "_selected_action": ids, "apply": "1", "note": "系统故障"},
    )
    assert response.status_code == 302
    assert set(Penalty.objects.for_system().values_list("state", "decision_note")) == {
        ("waived", "系统故障")
    }
    assert HistoryEntry.objects.for_system().filter(action="penalty_waived").count() == 2
