from datetime import UTC, datetime

import pytest
from giftengine.domain import periods

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "at,tz,day,week,month",
    [
        (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), "UTC", "2026-11-22", "2026-11-16", "2026-11"),
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "UTC", "2026-11-23", "2026-11-23", "2026-11"),
        (
            datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
            "Asia/Tokyo",
            "2026-12-01",
            "2026-11-30",
            "2026-12",
        ),
        (
            datetime(2026, 1, 1, 3, 0, tzinfo=UTC),
            "America/New_York",
            "2025-12-31",
            "2025-12-29",
            "2025-12",
        ),
    ],
)
def test_period_keys(at, tz, day, week, month):
    assert periods.day_key(at, tz) == day
    assert periods.week_key(at, tz) == week
    assert periods.month_key(at, tz) == month


def test_unknown_zone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown time zone"):
        periods.day_key(datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus")


def test_board_ids_roundtrip_even_with_dotted_creator_ids():
    at = datetime(2026, 11, 22, tzinfo=UTC)
    for b in periods.period_boards("ana.live", "UTC", at) + [periods.session_board("s.1")]:
        assert periods.board_from_id(b.board_id) == b


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "posix/Europe/Paris"])
def test_names_that_are_no_place_are_refused_as_time_zones(name):
    """The host's own zone (`localtime`) would make a creator's days depend on the server."""
    with pytest.raises(ValueError, match="unknown time zone"):
        periods.zone(name)
    assert periods.zone("Asia/Kathmandu").key == "Asia/Kathmandu"
