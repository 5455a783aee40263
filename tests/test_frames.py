"""preprocessing.frames on its own: frames around the writing (a box, a plaque's rounded or double
border, a meter's cells) and rules above or below it are erased; digits, a 0 alone, a 0 with dust in
it, a 5's detached bar and a dash are not. Synthetic ink maps, light ink on dark, values 0-1."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn.preprocessing import frames

SIZE = (300, 600)  # rows, cols
DIGITS = [(140, 110, 200, 190), (260, 110, 320, 190), (380, 110, 440, 190)]  # three rings, "000"


def ink_map(draw_on) -> np.ndarray:
    canvas = Image.new("L", SIZE[::-1], 0)
    draw_on(ImageDraw.Draw(canvas))
    return np.asarray(canvas, dtype=np.float32) / 255


def rings(draw, boxes=DIGITS, width=10):
    for box in boxes:
        draw.ellipse(box, outline=255, width=width)


def digits_only() -> np.ndarray:
    return ink_map(rings) > 0


def box(draw, width=6, rounded=0, inset=0):
    left, top, right, bottom = 100 + inset, 80 + inset, 480 - inset, 220 - inset
    if rounded:
        draw.rounded_rectangle((left, top, right, bottom), radius=rounded, outline=255, width=width)
    else:
        draw.rectangle((left, top, right, bottom), outline=255, width=width)


FRAMED = {
    "a thin box": lambda draw: (box(draw, 3), rings(draw)),
    "a pen-wide box": lambda draw: (box(draw, 10), rings(draw)),
    "a thick plaque, rounded": lambda draw: (box(draw, 18, rounded=40), rings(draw)),
    "a double border": lambda draw: (box(draw, 4), box(draw, 4, inset=14), rings(draw)),
    "a box turned 4 degrees": lambda draw: (
        draw.polygon([(100, 93), (479, 67), (489, 207), (110, 233)], outline=255, width=6),
        rings(draw),
    ),
    "cells": lambda draw: (
        box(draw, 5),
        [draw.line((x, 80, x, 220), fill=255, width=5) for x in (230, 350)],
        rings(draw),
    ),
    # a form's comb drawn apart: each box holds one digit, too little of the writing to frame the
    # number ("45" in two boxes read "185")
    "thin cells apart": lambda draw: (
        [draw.rectangle((left - 22, 85, right + 22, 215), outline=255, width=2) for left, _, right, _ in DIGITS],
        rings(draw),
    ),
    "pen-wide cells apart": lambda draw: (
        [draw.rectangle((left - 18, 90, right + 18, 210), outline=255, width=7) for left, _, right, _ in DIGITS],
        rings(draw),
    ),
}


@pytest.mark.parametrize("what", FRAMED)
def test_a_frame_around_the_writing_is_erased_and_the_digits_kept(what):
    ink = ink_map(FRAMED[what])
    cleaned = frames.without_frames(ink)
    assert np.array_equal(cleaned > 0, digits_only())


def test_a_digit_touching_a_cell_s_divider_keeps_its_ink_but_where_they_meet():
    def meter(draw):
        box(draw, 5)
        draw.line((230, 80, 230, 220), fill=255, width=5)
        rings(draw, [(150, 110, 228, 190), (260, 110, 320, 190)])

    cleaned = frames.without_frames(ink_map(meter)) > 0
    frame_only = ink_map(lambda draw: (box(draw, 5), draw.line((230, 80, 230, 220), fill=255, width=5))) > 0
    assert not (cleaned & frame_only & ~(ink_map(lambda d: rings(d, [(150, 110, 228, 190)])) > 0)).any()
    touching = ink_map(lambda draw: rings(draw, [(150, 110, 228, 190)])) > 0
    assert np.count_nonzero(cleaned & touching) > 0.9 * np.count_nonzero(touching)


NOT_FRAMES = {
    "a 0 alone": lambda draw: rings(draw, [(200, 60, 330, 240)], 14),
    "a 0 with dust in it": lambda draw: (
        rings(draw, [(200, 60, 330, 240)], 14),
        draw.ellipse((260, 145, 266, 151), fill=255),
    ),
    "a 6": lambda draw: (
        rings(draw, [(200, 140, 300, 240)], 14),
        draw.line((210, 180, 280, 40), fill=255, width=14),
    ),
    "three digits side by side": rings,
    "a hexagram": lambda draw: (
        draw.polygon([(300, 30), (420, 238), (180, 238)], outline=255, width=6),
        draw.polygon([(300, 280), (420, 72), (180, 72)], outline=255, width=6),
    ),
    "a house with a door": lambda draw: (
        draw.line([(200, 270), (200, 130), (275, 40), (350, 130), (350, 270), (200, 270)], fill=255, width=10),
        draw.line([(255, 270), (255, 200), (295, 200), (295, 270)], fill=255, width=10),
    ),
    "a scribbled triangle with a stroke across it": lambda draw: draw.line(
        [(150, 260), (210, 40), (350, 260), (150, 260), (200, 170), (400, 90)], fill=255, width=8
    ),
}


@pytest.mark.parametrize("what", NOT_FRAMES)
def test_digits_and_shapes_are_no_frame(what):
    ink = ink_map(NOT_FRAMES[what])
    assert np.array_equal(frames.without_frames(ink), ink)


@pytest.mark.parametrize("ends", [(240, 240), (60, 60), (250, 200)])  # below, above, below and turned
def test_a_rule_below_or_above_the_writing_is_erased(ends):
    ink = ink_map(lambda draw: (rings(draw), draw.line((90, ends[0], 500, ends[1]), fill=255, width=8)))
    assert np.array_equal(frames.without_frames(ink) > 0, digits_only())


NOT_RULES = {
    "a 5's detached bar": lambda draw: (rings(draw), draw.line((140, 90, 200, 90), fill=255, width=8)),
    "a dash between digits": lambda draw: (rings(draw), draw.line((205, 150, 255, 150), fill=255, width=8)),
    "a long stroke through the digits": lambda draw: (rings(draw), draw.line((90, 150, 500, 150), fill=255, width=8)),
}


@pytest.mark.parametrize("what", NOT_RULES)
def test_short_bars_and_strokes_beside_or_through_the_writing_are_no_rule(what):
    ink = ink_map(NOT_RULES[what])
    assert np.array_equal(frames.without_frames(ink), ink)


def test_small_maps_and_empty_ones_are_left_alone():
    small = np.zeros((100, 100), np.float32)
    small[10:90, 10] = small[10:90, 89] = small[10, 10:90] = small[89, 10:90] = 1
    small[40:60, 45:55] = 1
    assert frames.without_frames(small) is small
    empty = np.zeros(SIZE, np.float32)
    assert np.array_equal(frames.without_frames(empty), empty)


def test_a_turned_meter_s_divider_touched_by_a_digit_is_erased():
    turn = np.deg2rad(3.0)

    def turned(x, y):  # (x, y) turned about the frame's centre
        dx, dy = x - 290, y - 150
        return (290 + dx * np.cos(turn) - dy * np.sin(turn), 150 + dx * np.sin(turn) + dy * np.cos(turn))

    def meter(draw):
        draw.polygon([turned(100, 80), turned(480, 80), turned(480, 220), turned(100, 220)], outline=255, width=5)
        draw.line([turned(230, 80), turned(230, 220)], fill=255, width=5)
        rings(draw, [(150, 110, 229, 190), (270, 110, 330, 190)])

    cleaned = frames.without_frames(ink_map(meter)) > 0
    divider = ink_map(lambda draw: draw.line([turned(230, 96), turned(230, 204)], fill=255, width=3)) > 0
    touching = ink_map(lambda draw: rings(draw, [(150, 110, 229, 190)])) > 0
    assert not (cleaned & divider & ~touching).any()
    assert np.count_nonzero(cleaned & touching) > 0.85 * np.count_nonzero(touching)


def test_a_frame_s_sides_cut_thin_by_the_photo_s_edge_are_erased():
    def tight(draw):
        rings(draw)
        for x in (4, 592):  # what a tightly cropped plaque keeps of its sides: thin, beyond the writing
            draw.line((x, 40, x, 260), fill=255, width=4)

    assert np.array_equal(frames.without_frames(ink_map(tight)) > 0, digits_only())


KEPT_BESIDE = {
    "a 1 ending a number": lambda draw: (rings(draw), draw.line((500, 100, 500, 200), fill=255, width=10)),
    "a thin 1 beside a blot": lambda draw: (
        draw.ellipse((300, 140, 312, 152), fill=255),
        draw.line((200, 40, 200, 260), fill=255, width=3),
    ),
    "a crease beside specks": lambda draw: (
        draw.line((0, 150, 599, 150), fill=255, width=3),
        draw.ellipse((300, 40, 312, 52), fill=255),
    ),
}


@pytest.mark.parametrize("what", KEPT_BESIDE)
def test_a_pen_wide_1_a_lone_thin_1_and_a_crease_are_no_frame_s_side(what):
    ink = ink_map(KEPT_BESIDE[what])
    assert np.array_equal(frames.without_frames(ink), ink)


def test_the_pass_before_ruled_lines_takes_a_frame_clear_of_the_edges_only():
    def wide_box(draw):  # across 97% of the map: its top and bottom look like two ruled lines
        draw.rectangle((8, 20, 590, 280), outline=255, width=4)
        rings(draw)

    assert np.array_equal(frames.without_frames(ink_map(wide_box), clear_of_edges=True) > 0, digits_only())

    def at_the_edges(draw):  # a box drawn along the map's edges: left to the pass after ruled lines
        draw.rectangle((0, 20, 599, 280), outline=255, width=4)
        rings(draw)

    ink = ink_map(at_the_edges)
    assert np.array_equal(frames.without_frames(ink, clear_of_edges=True), ink)
    assert np.array_equal(frames.without_frames(ink) > 0, digits_only())

    def grid(draw):  # squared paper: its lines run to the edges, every cell a "frame"
        [draw.line((x, 0, x, 299), fill=255, width=2) for x in range(20, 600, 60)]
        [draw.line((0, y, 599, y), fill=255, width=2) for y in range(30, 300, 60)]
        rings(draw)

    ink = ink_map(grid)
    assert np.array_equal(frames.without_frames(ink, clear_of_edges=True), ink)

    for margin in (1, 8):  # a squared page's grid stopping short of the edges, a 4 across it
        canvas = Image.new("L", (240, 200), 0)
        draw = ImageDraw.Draw(canvas)
        [draw.line((x, margin, x, 199 - margin), fill=120, width=2) for x in range(margin, 241 - margin, 20)]
        [draw.line((margin, y, 239 - margin, y), fill=120, width=2) for y in range(margin, 201 - margin, 20)]
        draw.line((100, 40, 70, 120, 150, 120), fill=255, width=7)
        draw.line((130, 60, 130, 170), fill=255, width=7)
        ink = np.asarray(canvas, dtype=np.float32) / 255
        assert np.array_equal(frames.without_frames(ink, clear_of_edges=True), ink)
    ruled = ink_map(lambda draw: ([draw.line((0, y, 599, y), fill=255, width=2) for y in (60, 240)], rings(draw)))
    assert np.array_equal(frames.without_frames(ruled, clear_of_edges=True), ruled)
