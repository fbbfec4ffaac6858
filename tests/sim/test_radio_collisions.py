"""CollisionTracker: ALOHA overlaps at one receiver, capture and half duplex."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.radio import CollisionTracker


def test_equal_power_overlap_loses_both() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(1, 0.0, 1.0, -100.0)
    rx.begin(2, 0.5, 1.5, -100.0)
    assert not rx.survived(1)
    assert not rx.survived(2)


def test_disjoint_and_adjacent_frames_survive() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(1, 0.0, 1.0, -100.0)
    rx.begin(2, 1.0, 2.0, -100.0)  # starts exactly when 1 ends
    rx.begin(3, 5.0, 6.0, -100.0)
    assert rx.survived(1) and rx.survived(2) and rx.survived(3)


def test_capture_of_the_stronger_frame() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(1, 0.0, 1.0, -94.0)
    rx.begin(2, 0.2, 1.2, -100.0)
    assert rx.survived(1)  # 6 dB stronger: captured
    assert not rx.survived(2)


def test_no_capture_below_threshold() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(1, 0.0, 1.0, -95.0)
    rx.begin(2, 0.2, 1.2, -100.0)
    assert not rx.survived(1) and not rx.survived(2)


def test_capture_must_beat_every_overlapping_frame() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(1, 0.0, 3.0, -90.0)
    rx.begin(2, 0.5, 1.0, -100.0)
    rx.begin(3, 2.0, 2.5, -93.0)  # only 3 dB weaker
    assert not rx.survived(2)
    assert not rx.survived(3)
    assert not rx.survived(1)


def test_zero_threshold_still_kills_equal_frames() -> None:
    rx = CollisionTracker(capture_db=0.0)
    rx.begin(1, 0.0, 1.0, -100.0)
    rx.begin(2, 0.5, 1.5, -100.0)
    assert not rx.survived(1) and not rx.survived(2)


def test_half_duplex() -> None:
    rx = CollisionTracker(capture_db=6.0)
    rx.transmitting(0.5, 0.8)
    rx.begin(1, 0.0, 1.0, -60.0)  # however strong
    rx.begin(2, 0.8, 1.8, -60.0)  # starts as our transmission ends
    rx.begin(3, 2.0, 3.0, -100.0)
    assert not rx.survived(1)
    assert not rx.survived(2)  # still overlaps frame 1
    assert rx.survived(3)


def test_decided_frame_still_spoils_a_longer_one() -> None:
    """X=[0,2] and F=[3,4] are decided while G=[1,10] still arrives: G must stay lost."""
    rx = CollisionTracker(capture_db=6.0)
    rx.begin(10, 1.0, 10.0, -100.0)  # G
    rx.begin(11, 0.0, 2.0, -100.0)  # X
    assert not rx.survived(11)
    rx.begin(12, 3.0, 4.0, -100.0)  # F
    assert not rx.survived(12)
    assert not rx.survived(10)


def test_records_are_forgotten() -> None:
    rx = CollisionTracker(capture_db=6.0)
    for i in range(100):
        rx.transmitting(i * 3.0 + 2.0, i * 3.0 + 2.5)
        rx.begin(i, i * 3.0, i * 3.0 + 1.0, -100.0)
        assert rx.survived(i)
        assert rx.held() <= 3
    assert rx.held() <= 2


@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0.01, 5), st.floats(-130, -60)),
        min_size=1,
        max_size=12,
    )
)
def test_matches_brute_force(frames: list[tuple[float, float, float]]) -> None:
    """Decided in end order, as the world does, against an all-pairs check."""
    rx = CollisionTracker(capture_db=6.0)
    spans = [(start, start + length, dbm) for start, length, dbm in frames]
    for i, (start, end, dbm) in enumerate(spans):
        rx.begin(i, start, end, dbm)
    for i in sorted(range(len(spans)), key=lambda k: spans[k][1]):
        start, end, dbm = spans[i]
        rivals = [
            other for j, (s, e, other) in enumerate(spans) if j != i and s < end and start < e
        ]
        expected = all(dbm - other >= 6.0 for other in rivals)
        assert rx.survived(i) == expected
