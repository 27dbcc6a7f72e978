"""The pure core of lab seats: documents, the address rule, whole-map checks, who may
log in where."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cbt_server.errors import DuplicateSeat, InvalidInput, WrongPc
from cbt_server.lab import seatmap
from cbt_server.lab.seatmap import PcAtLogin, Place, SeatRule


def test_macs_normalised_and_fakes_refused() -> None:
    assert seatmap.normalize_mac("AA-BB-CC-DD-EE-0F") == "aa:bb:cc:dd:ee:0f"
    assert seatmap.normalize_mac("aabbccddee0f") == "aa:bb:cc:dd:ee:0f"
    for bad in ("00:00:00:00:00:00", "ff-ff-ff-ff-ff-ff", "aa:bb:cc", "aa:bb-cc:dd:ee:ff"):
        with pytest.raises(ValueError):
            seatmap.normalize_mac(bad)


def test_registration_errors_name_the_field() -> None:
    good = {"hostname": " LAB-01 ", "macs": ["AA:BB:CC:DD:EE:01"]}
    reg = seatmap.parse(seatmap.Registration, good, "pc")
    assert (reg.hostname, reg.macs) == ("LAB-01", ["aa:bb:cc:dd:ee:01"])
    cases = [
        ({"macs": ["aa:bb:cc:dd:ee:01"]}, "pc"),
        (good | {"macs": []}, "pc.macs"),
        (good | {"macs": ["aa:bb:cc:dd:ee:01", "AA-BB-CC-DD-EE-01"]}, "twice"),
        (good | {"hostname": "a\nb"}, "pc.hostname"),
        (good | {"seat": 0}, "pc.seat"),
        (good | {"extra": 1}, "extra"),
    ]
    for data, words in cases:
        with pytest.raises(InvalidInput, match=words):
            seatmap.parse(seatmap.Registration, data, "pc")


def test_the_rule_maps_addresses_to_seats_and_spares() -> None:
    addresses = {
        "A": "10.0.0.2",
        "B": "10.0.0.3",
        "C": "10.0.0.31",
        "D": "10.0.0.32",
        "E": "10.0.0.1",
        "F": "fe80::1",
    }
    places = seatmap.rule_places(SeatRule(first="10.0.0.2", spares=1), addresses, 30)
    assert places == {"A": Place(1), "B": Place(2), "C": Place(30), "D": Place(None, spare=True)}
    assert seatmap.rule_places(SeatRule(first="10.0.0.2", seats=1), addresses, 30) == {
        "A": Place(1)
    }
    with pytest.raises(InvalidInput, match="not an IPv4"):
        seatmap.rule_places(SeatRule(first="10.0.0"), addresses, 30)
    with pytest.raises(InvalidInput, match="more than the room"):
        seatmap.rule_places(SeatRule(first="10.0.0.2", seats=31), addresses, 30)


def test_a_whole_map_is_checked() -> None:
    seatmap.check_mapping({"A": Place(1), "B": Place(2), "S": Place(None, True)}, 2, "R1")
    with pytest.raises(DuplicateSeat, match="seat 2 of room R1 is given to A and B"):
        seatmap.check_mapping({"A": Place(2), "B": Place(2)}, 2, "R1")
    with pytest.raises(InvalidInput, match="seats 1 to 2"):
        seatmap.check_mapping({"A": Place(3)}, 2, "R1")
    with pytest.raises(InvalidInput, match="either at a seat or a spare"):
        seatmap.check_mapping({"A": Place(1, True)}, 2, "R1")


def test_a_seat_file_listing_a_pc_or_a_mac_twice_is_refused() -> None:
    entry = {"hostname": "A", "macs": ["02:00:00:00:00:01"], "seat": 1}
    twice = {"room": "R1", "pcs": [entry, entry | {"seat": 2}]}
    with pytest.raises(InvalidInput, match="A is listed twice"):
        seatmap.file_places(seatmap.parse(seatmap.SeatFile, twice, "seat file"))
    shared = {"room": "R1", "pcs": [entry, entry | {"hostname": "B", "seat": 2}]}
    with pytest.raises(InvalidInput, match="listed for A and B"):
        seatmap.file_places(seatmap.parse(seatmap.SeatFile, shared, "seat file"))
    with pytest.raises(InvalidInput, match="format"):
        seatmap.parse(seatmap.SeatFile, {"format": "other", "room": "R1", "pcs": []}, "seat file")


def test_who_may_log_in_where() -> None:
    own = PcAtLogin(1, "LAB-01", 1, False)
    other = PcAtLogin(2, "LAB-02", 2, False)
    spare = PcAtLogin(9, "LAB-SPARE", None, True)
    seatmap.admit(False, None, 1, None, False)  # a room without PCs: as before
    seatmap.admit(True, own, 1, None, False)
    with pytest.raises(WrongPc, match=r"LAB-02\) is seat 2; your seat is 1"):
        seatmap.admit(True, other, 1, None, False)
    with pytest.raises(WrongPc, match="a spare PC"):
        seatmap.admit(True, spare, 1, None, False)
    with pytest.raises(WrongPc, match="not registered"):
        seatmap.admit(True, None, 1, None, True)
    seatmap.admit(True, spare, 1, 9, True)  # unlocked to the spare
    seatmap.admit(True, other, 1, None, True)  # unlocked to any PC of the room
    with pytest.raises(WrongPc):
        seatmap.admit(True, other, 1, 9, True)  # unlocked to the spare, not to PC 2


def test_online_within_three_beats() -> None:
    now = datetime(2026, 5, 18, 1, 0, tzinfo=UTC)
    assert seatmap.online(now - timedelta(seconds=45), now)
    assert not seatmap.online(now - timedelta(seconds=46), now)


def test_requests_that_conflict_are_left_out_and_the_others_applied() -> None:
    current = {"A": Place(1), "B": Place(2), "C": Place(3)}
    asked = {
        "A": Place(2),  # B moves away from 2: A may take it
        "B": Place(4),
        "C": Place(1),  # A moves away from 1
        "D": Place(5),  # asked by E too: neither gets it
        "E": Place(5),
        "F": Place(3),  # C moves, but G asks for 3 as well and F is not there yet
        "G": Place(3),
        "H": Place(9),  # not in the room
    }
    granted, refused = seatmap.split_requests(current, asked, 8, "R1")
    assert granted == {"A": Place(2), "B": Place(4), "C": Place(1)}
    assert refused == {
        "D": "seat 5 of room R1 is asked for by E too",
        "E": "seat 5 of room R1 is asked for by D too",
        "F": "seat 3 of room R1 is asked for by G too",
        "G": "seat 3 of room R1 is asked for by F too",
        "H": "seat 9 is not in room R1 (seats 1 to 8)",
    }
    # A seat held by a PC that stays (it asked for nothing, or for the seat it has).
    granted, refused = seatmap.split_requests(
        {"A": Place(1), "B": Place(2)}, {"B": Place(2), "C": Place(1), "D": Place(2)}, 3, "R1"
    )
    assert granted == {"B": Place(2)}
    assert refused == {
        "C": "seat 1 of room R1 is A's",
        "D": "seat 2 of room R1 is asked for by B too",
    }
    # A chain that ends at a PC that stays undoes itself whole: nobody half-moves.
    granted, refused = seatmap.split_requests(
        {"A": Place(1), "B": Place(2), "C": Place(3)}, {"A": Place(2), "B": Place(3)}, 3, "R1"
    )
    assert granted == {} and set(refused) == {"A", "B"}
