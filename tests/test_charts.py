"""Geometry of the server-rendered SVG charts (sessions_app.charts) and their templates."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest
from django.template.loader import render_to_string

from sessions_app import charts, ipt, measures

PHQ9, GAD7 = measures.Instrument.PHQ9.value, measures.Instrument.GAD7.value
D = dt.date


# --- Score chart ----------------------------------------------------------------------------------


def y_of(chart: charts.ScoreChart, total: float) -> float:
    """Where a total belongs: 0 on the bottom edge of the plot, 27 on the top, linear between."""
    return chart.plot_bottom - (chart.plot_bottom - chart.plot_top) * total / 27


def test_thresholds_are_the_phq9_cut_points_at_their_height():
    chart = charts.score_chart([(D(2026, 9, 1), PHQ9, 12)])
    assert [(t.value, t.label) for t in chart.thresholds] == [
        (20, "Severe"),
        (15, "Moderately severe"),
        (10, "Moderate"),
        (5, "Mild"),
    ]
    for threshold in chart.thresholds:
        assert threshold.y == pytest.approx(y_of(chart, threshold.value))


def test_axis_ends_are_the_plot_edges():
    chart = charts.score_chart([(D(2026, 9, 1), PHQ9, 0), (D(2026, 9, 8), PHQ9, 27)])
    low, high = chart.series[0].points
    assert low.y == pytest.approx(chart.plot_bottom)
    assert high.y == pytest.approx(chart.plot_top)
    assert [t.value for t in chart.y_ticks] == [0, 5, 10, 15, 20, 25]


def test_x_is_proportional_to_time_and_spans_the_plot():
    rows = [(D(2026, 9, 1), PHQ9, 20), (D(2026, 9, 11), PHQ9, 15), (D(2026, 10, 1), PHQ9, 8)]
    chart = charts.score_chart(rows)
    first, middle, last = chart.series[0].points
    assert first.x == pytest.approx(chart.plot_left)
    assert last.x == pytest.approx(chart.plot_right)
    # 10 of 30 days: a third of the way along.
    assert middle.x == pytest.approx(chart.plot_left + (chart.plot_right - chart.plot_left) / 3)
    assert chart.series[0].polyline == " ".join(f"{p.x:.1f},{p.y:.1f}" for p in (first, middle, last))


def test_one_date_sits_in_the_middle():
    chart = charts.score_chart([(D(2026, 9, 1), PHQ9, 10), (D(2026, 9, 1), GAD7, 7)])
    phq9, gad7 = chart.series
    assert phq9.points[0].x == gad7.points[0].x == pytest.approx((chart.plot_left + chart.plot_right) / 2)


def test_instruments_are_separate_series_sorted_by_date():
    rows = [(D(2026, 9, 15), PHQ9, 9), (D(2026, 9, 1), GAD7, 12), (D(2026, 9, 1), PHQ9, 18)]
    chart = charts.score_chart(rows)
    phq9, gad7 = chart.series
    assert (phq9.instrument, gad7.instrument) == (PHQ9, GAD7)
    assert [p.total for p in phq9.points] == [18, 9]
    assert [p.total for p in gad7.points] == [12]
    assert phq9.points[0].label == "PHQ-9 18 on 01 Sep 2026"


def test_empty_chart():
    chart = charts.score_chart([])
    assert chart.is_empty
    assert chart.x_labels == ()


def test_date_labels_are_thinned_to_about_six():
    rows = [(D(2026, 9, 1) + dt.timedelta(weeks=k), PHQ9, 10) for k in range(16)]
    assert len(charts.score_chart(rows).x_labels) <= 6


# --- Phase timeline -------------------------------------------------------------------------------


def attended(number: int) -> tuple:
    return (
        number,
        "attended",
        ipt.default_phase(number, 12).value,
        D(2026, 9, 1) + dt.timedelta(weeks=number),
    )


def missed(kind: str = "cancelled") -> tuple:
    return (None, kind, "middle", D(2026, 9, 2))


def slot_width(timeline: charts.Timeline, slots: int) -> float:
    return (timeline.width - 2 * charts.TIMELINE_PAD) / slots


def test_bands_divide_the_plan_into_initial_middle_and_termination():
    timeline = charts.phase_timeline(12, [])
    w = slot_width(timeline, 12)
    assert [(b.phase, round(b.width / w)) for b in timeline.bands] == [
        ("initial", 3),
        ("middle", 6),
        ("termination", 3),
    ]
    assert timeline.bands[0].x == charts.TIMELINE_PAD
    assert sum(b.width for b in timeline.bands) == pytest.approx(timeline.width - 2 * charts.TIMELINE_PAD)


def test_sessions_beyond_the_plan_extend_the_band_as_maintenance():
    timeline = charts.phase_timeline(12, [attended(n) for n in range(1, 15)])
    assert [b.phase for b in timeline.bands][-1] == "maintenance"
    assert round(timeline.bands[-1].width / slot_width(timeline, 14)) == 2


def test_attended_sessions_sit_on_their_slot_centres():
    timeline = charts.phase_timeline(12, [attended(1), attended(2)])
    w = slot_width(timeline, 12)
    assert [m.x for m in timeline.marks] == pytest.approx(
        [charts.TIMELINE_PAD + w / 2, charts.TIMELINE_PAD + 1.5 * w]
    )
    assert timeline.marks[0].label == "Session 1, 08 Sep 2026"


def test_cancelled_session_is_placed_between_the_attended_ones():
    timeline = charts.phase_timeline(12, [attended(1), attended(2), missed(), attended(3)])
    two, cancelled, three = timeline.marks[1], timeline.marks[2], timeline.marks[3]
    assert cancelled.number is None
    assert two.x < cancelled.x < three.x
    assert cancelled.x == pytest.approx((two.x + three.x) / 2)
    assert cancelled.label == "Cancelled 02 Sep 2026"


def test_several_missed_sessions_in_a_row_are_spread_without_overlapping():
    timeline = charts.phase_timeline(12, [attended(1), missed(), missed("no_show"), missed(), attended(2)])
    xs = [m.x for m in timeline.marks]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert gaps == pytest.approx([gaps[0]] * 4)  # evenly spaced between the two slots
    assert timeline.marks[2].label == "No-show 02 Sep 2026"


def test_missed_sessions_before_the_first_and_after_the_last_stay_on_the_band():
    timeline = charts.phase_timeline(12, [missed(), missed(), *[attended(n) for n in range(1, 13)], missed()])
    left, right = charts.TIMELINE_PAD, timeline.width - charts.TIMELINE_PAD
    first_attended = timeline.marks[2].x
    last_attended = timeline.marks[-2].x
    assert left <= timeline.marks[0].x < timeline.marks[1].x < first_attended
    assert last_attended < timeline.marks[-1].x <= right


# --- Closeness circle -----------------------------------------------------------------------------


def distance(circle: charts.ClosenessCircle, dot: charts.PersonDot) -> float:
    return math.hypot(dot.x - circle.centre, dot.y - circle.centre)


def test_people_are_placed_inside_their_own_ring():
    people = [("A", 1, False), ("B", 2, False), ("C", 3, False), ("D", 3, True)]
    circle = charts.closeness_circle(people)
    inner = {1: charts.SELF_RADIUS, 2: charts.RING_RADII[0], 3: charts.RING_RADII[1]}
    for dot in circle.people:
        assert inner[dot.ring] < distance(circle, dot) < charts.RING_RADII[dot.ring - 1], dot.name
    assert circle.centre == circle.size / 2


def test_people_on_a_ring_are_evenly_spread():
    circle = charts.closeness_circle([(name, 2, False) for name in "ABCD"])
    angles = sorted(math.atan2(d.y - circle.centre, d.x - circle.centre) for d in circle.people)
    steps = [b - a for a, b in itertools.pairwise(angles)]
    assert steps == pytest.approx([math.pi / 2] * 3)
    assert len({round(distance(circle, d), 6) for d in circle.people}) == 1


def test_the_drawing_leaves_room_for_labels_beside_the_outer_ring():
    circle = charts.closeness_circle([(str(k), 3, False) for k in range(12)])
    left, top, width, height = (float(v) for v in circle.view_box.split())
    label = 9 + 14 * 6.5  # offset from the dot plus 14 characters of 12px text
    for dot in circle.people:
        if dot.label_anchor == "start":
            assert dot.x + label <= left + width
        else:
            assert dot.x - label >= left
    assert (top, height) == (0, circle.size)


def test_labels_point_away_from_the_centre_and_the_deceased_are_flagged():
    circle = charts.closeness_circle([(name, 1, name == "B") for name in "AB"])
    for dot in circle.people:
        assert dot.label_anchor == ("start" if dot.x >= circle.centre else "end")
    assert [d.is_deceased for d in circle.people] == [False, True]


# --- Templates: names are escaped, shapes differ --------------------------------------------------


def test_names_are_escaped_in_the_closeness_circle_svg():
    circle = charts.closeness_circle([("<script>alert('x')</script>", 1, False), ("Tom & Jerry", 2, True)])
    svg = render_to_string("charts/closeness_circle.html", {"circle": circle})
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "Tom &amp; Jerry" in svg
    assert "Tom &amp; Jerry, ring 2, deceased" in svg  # the full name in the title


def test_long_names_are_shortened_on_the_drawing_but_whole_in_the_title():
    circle = charts.closeness_circle([("Bartholomew Fitzgerald-Smythe", 1, False)])
    svg = render_to_string("charts/closeness_circle.html", {"circle": circle})
    assert "<title>Bartholomew Fitzgerald-Smythe, ring 1</title>" in svg
    assert ">Bartholomew F…<" in svg


def test_timeline_template_draws_each_attendance_with_its_own_shape():
    timeline = charts.phase_timeline(12, [attended(1), missed(), missed("no_show"), attended(2)])
    svg = render_to_string("charts/phase_timeline.html", {"timeline": timeline})
    assert svg.count("<circle") == 2
    assert svg.count('class="mark cancelled"') == 1
    assert svg.count('class="mark no_show"') == 1
    assert "<title>No-show 02 Sep 2026</title>" in svg


def test_score_chart_template_draws_thresholds_and_points():
    chart = charts.score_chart([(D(2026, 9, 1), PHQ9, 18), (D(2026, 9, 15), PHQ9, 9)])
    svg = render_to_string("charts/score_chart.html", {"chart": chart})
    assert svg.count('class="threshold"') == 4
    assert svg.count('class="dot phq9"') == 2
    assert f'points="{chart.series[0].polyline}"' in svg
