"""A frame drawn or printed around the writing, found in an ink map and erased: a form field's box, a
house-number plaque's border (rounded or double), a meter's or a comb field's cells, and a row of
separate boxes with one digit written in each (``cells_erased``).

Once the lighting is fitted, a frame around a number is one mark that encloses all the others. Read
as writing it becomes digits of its own (a box read "0", its sides "1"s) or swallows the number
whole (a box with "59" in it was read "0"). A plain frame clear of the image's edges is erased
before ruled lines are (else a box across nearly all of a crop loses its top and bottom as two
ruled lines and its sides read as 1s); the others, a meter's cells, a frame a digit touches or the
photo's edge cuts, after. A frame is told from a digit by what it encloses: its holes, filled
(``scipy.ndimage.binary_fill_holes``), hold the other marks, and those are writing, not a speck.
Only the frame's border band is erased (as wide as its own stroke, from its outer edge in), and the
cells' dividers, which the band's removal leaves as straight pieces across the frame's inside: a
digit written touching the frame keeps all but the pixels where it touches. What a frame leaves
when it is cut by the photo's edge or its sides were erased as ruled lines, and the line a form
field is written above, are rules beside the writing (``without_rules``).

On 360 numbers of 2-5 validation digits in such frames (drawn, and photographed turned up to 3
degrees), 118 were read exactly before this step and 325 with it; the same numbers without a frame
read the same (docs/BENCHMARKS.md; ``benchmarks/number_reading.py --framed`` on test digits).

Every step takes and returns float32 ink maps (h, w), values 0-1, light ink on dark.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing import lines
from mnist_cnn.preprocessing.paper import bounding_box

MIN_SIZE = 48  # pixels: a form field's box cropped at 110x200 is a frame still (ruled lines' limit too)
MAX_FRAMES = 2  # nested frames erased at most: a plaque's double border
OUTLINE = 0.75  # of its filled area: a frame's own pixels at most, digits touching it included (not a blob)
RECTANGULAR = 0.85  # of its bounding rectangle, turned with it: a frame fills at least this (``rectangularity``)
ENCLOSED = 0.8  # of the ink left once the frame is erased: the writing, inside it, holds at least this much
WRITING = 0.3  # of the frame's inside height: what it holds is at least this tall (writing, not a speck)
WRITING_INK = 0.05  # of the frame's own pixels: what it holds has at least this many (not a stain's dots)
BORDER = 0.5  # of the frame's pixels: its border band and dividers hold at least this many
BAND = 1.5  # of the frame's stroke width, and 2 pixels more: the band erased from its outer edge in
RULE_LONG = 1.5  # of the tallest other mark's height: a rule above or below the writing is at least this long
RULE_THICK = 0.5  # of the tallest other mark's height: a rule is at most this thick (thicker is a blot)
RULE_WRITING = 0.25  # of a rule's pixels: the writing beside it holds at least this many (not a crease's specks)
SIDE_LONG = 1.3  # of the tallest other mark's height: a frame's side beside the writing is at least this tall
SIDE_LONGEST = 3.0  # of the tallest other mark's height: a longer upright line beside specks is no frame's side
SIDE_THIN = 0.6  # of the largest mark's stroke width: a frame's side cut by the photo's edge is this thin at most
PLAIN = 0.02  # of a frame's pixels: a plain frame has at most this many inside its border band
DIVIDER = 0.95  # of the inside's height at its columns: a piece reaching this far across is a cell's divider
CELLS = 2  # separate boxes round writing at least: a form's cells drawn apart (``cells_erased``)


def without_frames(ink: np.ndarray, *, clear_of_edges: bool = False) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, less up to MAX_FRAMES nested frames around the writing
    (``frame_erased``), then a row of separate boxes with one digit in each (``cells_erased``), and
    the rules beside it (``without_rules``); unchanged when there is none. Maps under MIN_SIZE
    pixels on a side are left alone.

    With ``clear_of_edges``, only plain frames whose box stays clear of the map's edges, and no
    rules: the pass before ruled lines are erased. A frame spanning 85% of a tight crop's width (a
    form field's box, the light border inside a dark plaque cut out by ``plaques.find_plaque``) has a
    top and a bottom that ``lines.remove_ruled_lines`` takes for two ruled lines, leaving its sides
    as 1s. Ruled paper's lines run on to the edges; a squared page's grid, even one stopping short
    of them, and a meter's cells have pieces inside the frame, and so has a frame a digit touches:
    those are left to the pass after ruled lines (``frame_erased``'s ``plain``)."""
    if min(ink.shape) < MIN_SIZE:
        return ink
    marks = marks_of(ink)
    for _ in range(MAX_FRAMES):
        erased = frame_erased(ink, marks, plain=clear_of_edges)
        if erased is None:  # no frame (left) round all the writing: a box round each digit, maybe
            erased = cells_erased(ink, marks, plain=clear_of_edges)
            if erased is not None:
                ink, marks = erased, marks_of(erased)
            break
        ink, marks = erased, marks_of(erased)
    return ink if clear_of_edges else without_rules(ink, marks)


def marks_of(ink: np.ndarray) -> tuple | None:
    """(frame, labels, count, boxes) of ``ink``'s marks (8-connected pixels above 0), labelled on the
    ink's box ``frame`` alone (``lines.labelled_marks``, ``scipy.ndimage.find_objects``); None for
    an empty map. Shared by the steps so the ink is labelled once when there is no frame."""
    from scipy import ndimage

    frame = bounding_box(ink > 0)
    if frame is None:
        return None
    labels, count, _ = lines.labelled_marks(ink[frame] > 0)
    return frame, labels, count, ndimage.find_objects(labels)


def without_rules(ink: np.ndarray, marks: tuple | None = None) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, less the rules around the writing: marks that are straight lines
    (``lines.line_shape``) with every other mark to one side of them (``to_one_side``, so a rule in
    a photo turned a few degrees counts too), either
    - wider than tall, at least RULE_LONG of the tallest other mark's height long and at most
      RULE_THICK of it thick, above or below the writing: a frame's top and bottom whose sides were
      cut off by the photo's edge or erased as ruled lines, the line a form field is written above;
    - or taller than wide, at least SIDE_LONG of the tallest other mark's height tall and at most
      SIDE_THIN of the largest mark's stroke width thick, left or right of it: a frame's side cut
      thin by the photo's edge, or a sheet's edge. A 1 ending a number is the pen's width.
    A 5's detached bar or a 7's is far shorter; a dash between digits lies beside them, not above
    or below. The other marks must hold RULE_WRITING of a rule's pixels: a crease beside specks is
    left whole for ``blank``. ``marks``: ``marks_of(ink)``, if already known."""
    marks = marks_of(ink) if marks is None else marks
    if marks is None or marks[2] < 2:
        return ink
    frame, labels, count, boxes = marks
    straight = straight_marks(labels, boxes)
    writing = [label for label in range(1, count + 1) if label not in straight]
    if not writing:
        return ink
    heights = np.array([rows.stop - rows.start for rows, _ in boxes])
    sizes = np.bincount(labels.ravel())
    tallest = heights[np.array(writing) - 1].max()
    largest = max(writing, key=lambda label: sizes[label])
    pen = None
    rules = []
    for label, thickness in straight.items():
        rows, cols = boxes[label - 1]
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if sizes[writing].sum() < RULE_WRITING * sizes[label]:
            continue  # a crease beside specks: the blank page's step sees it whole
        if width > height:
            if width < RULE_LONG * tallest or thickness > RULE_THICK * tallest:
                continue
        else:
            if not SIDE_LONG * tallest <= height <= SIDE_LONGEST * tallest:
                continue
            pen = lines.mark_width(labels, boxes[largest - 1], largest) if pen is None else pen
            if thickness > SIDE_THIN * pen:
                continue
        if to_one_side(labels, label, along_rows=width > height):
            rules.append(label)
    if not rules or len(rules) == count:
        return ink
    cleaned = ink.copy()
    cleaned[frame][np.isin(labels, rules)] = 0
    return cleaned


def straight_marks(labels: np.ndarray, boxes: list[tuple[slice, slice]]) -> dict[int, float]:
    """{label: thickness in pixels} of the marks of ``labels`` (h, w, int; their ``boxes`` from
    ``scipy.ndimage.find_objects``) that are straight lines (``lines.line_shape``) whose box is at
    least 3 times as long as it is wide: the rules' candidates."""
    straight = {}
    for label, (rows, cols) in enumerate(boxes, start=1):
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if max(height, width) >= 3 * min(height, width):
            thickness, is_line = lines.line_shape(labels[rows, cols] == label)
            if is_line:
                straight[label] = thickness
    return straight


def to_one_side(labels: np.ndarray, label: int, along_rows: bool = True) -> bool:
    """Whether every marked pixel of ``labels`` (h, w, int) but those of ``label`` lies on one side
    of the straight line fitted (least squares) through ``label``'s pixels: rows on columns for a
    line ``along_rows``, columns on rows for one down the columns."""
    rows, cols = np.nonzero(labels == label)
    other_rows, other_cols = np.nonzero((labels > 0) & (labels != label))
    if not along_rows:
        rows, cols, other_rows, other_cols = cols, rows, other_cols, other_rows
    slope, offset = np.polyfit(cols, rows, 1) if np.ptp(cols) > 0 else (0.0, float(rows.mean()))
    offsets = other_rows - (slope * other_cols + offset)
    return bool(len(offsets)) and (offsets.max() < 0 or offsets.min() > 0)


def frame_erased(ink: np.ndarray, marks: tuple | None = None, *, plain: bool = False) -> np.ndarray | None:
    """``ink`` less its outermost frame, or None when it has none. The frame is the mark (8-connected
    pixels above 0) with the largest box when it is a frame round writing (``held_in``) and the
    writing, all the ink but the frame's erased pixels, lies ENCLOSED inside its filled area.
    ``marks``: ``marks_of(ink)``, if already known. With ``plain``, only a plain frame (``held_in``)."""
    marks = marks_of(ink) if marks is None else marks
    if marks is None:
        return None
    frame, labels, count, boxes = marks
    areas = [(rows.stop - rows.start) * (cols.stop - cols.start) for rows, cols in boxes]
    label = int(np.argmax(areas)) + 1
    found = held_in(ink.shape, marks, label, plain)
    if found is None:
        return None
    erased, held = found
    if held < ENCLOSED * (np.count_nonzero(labels) - np.count_nonzero(erased)):
        return None
    cleaned = ink.copy()
    cleaned[frame][boxes[label - 1]][erased] = 0
    return cleaned


def cells_erased(ink: np.ndarray, marks: tuple | None = None, *, plain: bool = False) -> np.ndarray | None:
    """``ink`` less a row of separate boxes, one digit written in each (a form's comb of cells drawn
    apart), or None when there are not CELLS of them: every mark that is a frame round writing
    (``held_in``), when together they hold ENCLOSED of the ink that is not theirs. Each box alone
    holds too little of the writing to be the number's frame (``frame_erased``), so its sides were
    read as 1s and its digit with them ("45" in two boxes read "185")."""
    marks = marks_of(ink) if marks is None else marks
    if marks is None or marks[2] < 2 * CELLS:
        return None
    frame, labels, count, boxes = marks
    cells = []
    for label, box in enumerate(boxes, start=1):
        found = held_in(ink.shape, marks, label, plain)  # it checks first that another mark lies in its box
        if found is not None:
            cells.append((box, *found))
    erased_pixels = sum(np.count_nonzero(erased) for _, erased, _ in cells)
    if len(cells) < CELLS or sum(held for _, _, held in cells) < ENCLOSED * (np.count_nonzero(labels) - erased_pixels):
        return None
    cleaned = ink.copy()
    for box, erased, _ in cells:
        cleaned[frame][box][erased] = 0
    return cleaned


def held_in(shape: tuple[int, int], marks: tuple, label: int, plain: bool) -> tuple[np.ndarray, int] | None:
    """(the pixels to erase, boolean over its box; how many ink pixels it holds) when the mark
    ``label`` of ``marks`` (``marks_of`` of a map of ``shape``) is a frame round writing, else None:
    another mark's centre lies in its box; its pixels are at most OUTLINE of its filled area, which
    fills RECTANGULAR of its bounding rectangle (``rectangularity``: a box, a plaque, not a star, a
    house or a circle); its border band and dividers (``frame_pixels``) are at least BORDER of it
    (digits written touching it are the rest); and what it holds inside its filled area is at least
    WRITING of the inside's height tall and WRITING_INK of the frame's pixels. A lone 0, 6 or 8 is
    all band: nothing is left inside it, so it is no frame. With ``plain``, only a plain frame: its
    box clear of the map's edges, and at most PLAIN of its pixels inside its band (no dividers, no
    grid, no digit touching it)."""
    from scipy import ndimage

    frame, labels, count, boxes = marks
    box = boxes[label - 1]
    if plain and touches_edge(frame, box, shape):
        return None
    if count > 1 and not any(encloses(box, other) for other in boxes if other is not box):
        return None  # a digit among digits: no other mark's centre lies in its box
    mark = labels[box] == label
    filled = ndimage.binary_fill_holes(mark)
    size = np.count_nonzero(mark)
    if size > OUTLINE * np.count_nonzero(filled) or rectangularity(filled) < RECTANGULAR:
        return None
    band = int(np.ceil(BAND * lines.mark_width(labels, box, label))) + 2
    inside = ndimage.minimum_filter(filled, size=2 * band + 1, mode="constant")
    if plain and np.count_nonzero(mark & inside) > PLAIN * size:
        return None
    erased = frame_pixels(mark, inside, band, tilt(filled))
    if np.count_nonzero(erased) < BORDER * size:
        return None
    writing = (labels[box] > 0) & ~erased & filled
    held = np.count_nonzero(writing)
    if held < WRITING_INK * size:
        return None
    inside_rows, held_rows = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(writing.any(axis=1))
    if (
        not len(inside_rows)
        or not len(held_rows)
        or held_rows[-1] - held_rows[0] < WRITING * (inside_rows[-1] - inside_rows[0])
    ):
        return None
    return erased, held


def touches_edge(frame: tuple[slice, slice], box: tuple[slice, slice], shape: tuple[int, int]) -> bool:
    """Whether ``box`` (rows, cols slices inside the slices ``frame`` of a map of ``shape``) touches
    the map's edge."""
    rows, cols = frame[0].start + box[0].start, frame[1].start + box[1].start
    return (
        rows == 0 or cols == 0 or frame[0].start + box[0].stop == shape[0] or frame[1].start + box[1].stop == shape[1]
    )


def encloses(box: tuple[slice, slice], other: tuple[slice, slice]) -> bool:
    """Whether the centre of the box ``other`` lies inside ``box`` (both (rows, cols) slices)."""
    return all(outer.start <= (inner.start + inner.stop) / 2 < outer.stop for outer, inner in zip(box, other))


def rectangularity(region: np.ndarray) -> float:
    """The share of its bounding rectangle a boolean ``region`` (h, w) fills, the rectangle turned to
    the region's principal axes (``tilt``): 1.0 for a rectangle at any angle, 0.95 for a plaque
    rounded at 40% of its height, pi/4 for a disc, 0.83 for a house's outline, 0.5 for a hexagram
    (the bounding-rectangle measure of Rosin 1999, "Measuring rectangularity", Machine Vision and
    Applications 11, its rectangle oriented by the moments)."""
    rows, cols = np.nonzero(region)
    if len(rows) < 3:
        return 0.0
    turn = tilt(region)
    along = cols * np.cos(turn) + rows * np.sin(turn)
    across = rows * np.cos(turn) - cols * np.sin(turn)
    return len(rows) / ((np.ptp(along) + 1) * (np.ptp(across) + 1))


def frame_pixels(mark: np.ndarray, inside: np.ndarray, band: int, turn: float = 0.0) -> np.ndarray:
    """The pixels of a frame's ``mark`` (h, w, boolean) to erase: those outside its ``inside`` (its
    filled area less a border ``band`` pixels wide), and its cells' dividers: pieces inside it that
    reach across it (DIVIDER of the inside's height at their columns) and are straight lines
    (``lines.line_shape``) or, where a digit touches one, the runs of columns across it at most a
    band wide. Columns run across the frame turned by ``turn`` (radians, its ``tilt``)."""
    from scipy import ndimage

    erased = mark & ~inside
    pieces, _ = ndimage.label(mark & inside, structure=np.ones((3, 3)))
    shear = np.tan(turn)
    start = int(np.floor(min(0.0, shear * mark.shape[0])))  # the first sheared column

    def sheared(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.round(cols + shear * rows).astype(np.intp) - start

    across = np.bincount(sheared(*np.nonzero(inside)))  # the inside's height along each sheared column
    for label, box in enumerate(ndimage.find_objects(pieces), start=1):
        piece_rows, piece_cols = np.nonzero(pieces[box] == label)
        piece_rows, piece_cols = piece_rows + box[0].start, piece_cols + box[1].start
        columns = sheared(piece_rows, piece_cols)
        height = across[np.clip(columns, 0, len(across) - 1)]
        if np.ptp(piece_rows) + 1 < DIVIDER * np.median(height):
            continue
        if lines.line_shape(pieces[box] == label)[1]:
            erased[piece_rows, piece_cols] = True
            continue
        # a digit touches the divider: its columns across the inside, and their edges
        counts = np.bincount(columns, minlength=len(across))[: len(across)]
        full = narrow_runs((counts >= DIVIDER * across) & (counts > 0), band)
        full = ndimage.binary_dilation(full, iterations=2)
        hit = full[np.clip(columns, 0, len(full) - 1)]
        erased[piece_rows[hit], piece_cols[hit]] = True
    return erased


def tilt(region: np.ndarray) -> float:
    """How far a boolean ``region`` (h, w), a frame's filled area, is turned from the axes: the angle
    (radians, within +-pi/4) of its principal axis, folded onto the nearer axis."""
    rows, cols = np.nonzero(region)
    if len(rows) < 3:
        return 0.0
    covariance = np.cov(np.stack([rows, cols]).astype(np.float64))
    angle = 0.5 * np.arctan2(2 * covariance[0, 1], covariance[1, 1] - covariance[0, 0])
    return float((angle + np.pi / 4) % (np.pi / 2) - np.pi / 4)


def narrow_runs(flags: np.ndarray, widest: float) -> np.ndarray:
    """Boolean ``flags`` (n,) keeping only the runs of Trues at most ``widest`` long."""
    kept = np.zeros_like(flags)
    for start, stop in lines.runs(flags):
        kept[start:stop] = stop - start <= widest
    return kept
