"""The sheet of paper in a photo: found on a darker desk, upright or tilted, and cut out.

A person photographs a note lying on a table; the bright sheet on the darker surface would be taken
for the digit. ``find_sheet`` finds the sheet first (the largest bright region, nearly a rectangle at
any angle, sharply two-toned against the desk; on a patterned desk, the flat region among the
pattern) and ``Sheet.cut`` cuts the image to it, so only paper and writing are left for
``paper.ink_intensity``. Grayscale images are float32 (h, w), values 0-255. Image processing comes
from ``scipy.ndimage``, ``scipy.spatial`` and ``skimage.morphology``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mnist_cnn.preprocessing.filters import median, otsu_threshold
from mnist_cnn.preprocessing.resize import shrink

SHEET_SMALLEST = 0.02  # of the frame: a note on a desk, 15% of the frame each way, is a sheet
TWO_TONED = 0.8  # Otsu's effectiveness: a sheet on a plain desk splits the grey levels this cleanly
EDGE_BAND = 2  # pixels of the 128-pixel copy either side of a sheet's edge: its step (``sharp_edged``)
SHEET_GAP = 15.0  # grey levels: a sheet on a textured desk, less cleanly split, stands this clear of it
SHEET_CONTRAST = 20.0  # grey levels: white paper on a light desk stands this far above it
SHEET_NARROWEST = 0.1  # of the frame's shorter side: a small sheet's shorter side at least
WIDE_SHEET = 0.3  # of the frame's shorter side: a sheet narrower than this must have writing on it
ROUND_ENDS = 0.1  # of its shorter side: a region further than this from every corner of its rectangle has round ends
WRITING_SHARE = 0.002  # of a narrow sheet's pixels: dark ones, its writing
WRITING_PIXELS = 10  # the least writing a narrow sheet holds
WRITING_CONTRAST = 40.0  # grey levels under the paper's median: a dark pixel, writing
LIGHT_SPREAD = 0.25  # of the copy's longer side: the Gaussian light the copy is divided by when no sheet stands out
SHEET_EDGE = 1.5  # pixels of the 128-pixel copy: the least a sheet is cut inside its blurred edge
FLAT = 3.0  # grey levels per pixel of the 128-pixel copy: paper changes slower than this, a patterned desk faster
FLAT_OPENING = 3  # pixels of the copy: narrower bridges between flat regions (a gap in a sheet's edge) are cut
FLAT_SHARE = 0.6  # of its convex hull: a flat region this full is a sheet with writing and shadows cut out of it
SHEET_RECTANGLE = 0.85  # of its minimum-area rectangle: a sheet fills this much at any angle
BESIDE = (2, 5)  # pixels of the copy outside a flat region's hull: the band where the desk shows beside a sheet
FLAT_STEP = 6.0  # grey levels per pixel of the copy: a sheet's edge is this steep at least, a vignette's slope is not
FLAT_WRITING = 4  # pixels of the copy: the least writing a flat region found as a sheet holds
RIM = 3  # pixels of the copy: the band inside a sheet's edge that writing does not cross
RIM_DARK = 0.1  # of the rim: dark marks in more of it are a patterned desk or a second sheet's edge
OUTLINE_MARGIN = 10.0  # grey levels under a flat sheet's 5th percentile: paper still, beside its writing
HALVES_GAP = 10  # pixels of the copy: a digit's strokes and the rough paper beside them, between two flat halves
SAME_PAPER = 4.0  # grey levels between the medians of two flat regions of one note, split by its digit
TINTED = 15.0  # grey levels: a tinted note (yellow, pink) stands this far under a white desk in grey
TINTED_STEP = 0.3  # of a tinted note's contrast: the gradient across its edge (``tinted_edge``)
OUTLINE_REACH = 6  # pixels of the copy from writing: the paper around it that its strokes made rough
RIM_WRITING = 0.2  # of the writing in a sheet: more of it in the rim is writing cut through by a shadow's edge


@dataclass(frozen=True)
class Sheet:
    """A sheet of paper found in a photo (``find_sheet``): ``box`` (top, bottom, left, right) in the
    photo's pixels, inside the sheet's edges, and ``desk``, a boolean (bottom - top, right - left) of the
    box's pixels that show the desk beside a tilted sheet, or None when the box holds only paper;
    ``narrow``: its shorter side spans under ``WIDE_SHEET`` of the frame's shorter side; ``rounded``:
    it reaches none of its minimum-area rectangle's corners (``ROUND_ENDS``), as a stroke's round ends
    do and a sheet's corners do not."""

    box: tuple[int, int, int, int]
    desk: np.ndarray | None = None
    narrow: bool = False
    rounded: bool = False
    # The last image cut and its cut: the search that finds a sheet (or a plaque) reads the writing
    # on its cut, and ``find_ink`` cuts the same image again (a tilted sheet's cover: 7 ms).
    last_cut: list = field(default_factory=list, repr=False, compare=False)

    def cut(self, gray: np.ndarray) -> np.ndarray:
        """``cut_afresh(gray)``, made once for the same ``gray`` object (not to be written to)."""
        if not self.last_cut or self.last_cut[0] is not gray:
            self.last_cut[:] = [gray, self.cut_afresh(gray)]
        return self.last_cut[1]

    def cut_afresh(self, gray: np.ndarray) -> np.ndarray:
        """``gray`` (h, w), float32 0-255, cut to the box: float32 (bottom - top, right - left), the
        desk in it covered by the nearest paper pixel's value
        (``scipy.ndimage.distance_transform_edt``'s indices): only paper and the digit are left."""
        from scipy import ndimage

        top, bottom, left, right = self.box
        cropped = gray[top:bottom, left:right]
        if self.desk is None:
            return cropped
        rows, cols = ndimage.distance_transform_edt(self.desk, return_distances=False, return_indices=True)
        return cropped[rows, cols]


def find_sheet(gray: np.ndarray) -> Sheet | None:
    """The sheet of paper in a photo of it on a darker surface (a desk), upright or tilted, inset a
    little so its edges stay out; None when the paper fills the frame.

    The sheet is the largest bright connected region (Otsu threshold of a 128-pixel copy), holes
    filled. It counts as a sheet only when it is clearly one: away from the frame's edge on two sides
    at least, or on one side by more than the pen's width when a digit is written on it
    (``desk_beside``: a bold digit touching the edge is not a desk), ``SHEET_SMALLEST`` (2%) to 97%
    of the frame, nearly a rectangle at any angle (85% of its minimum-area bounding rectangle), that
    rectangle's shorter side at least ``SHEET_NARROWEST`` (10%) of the frame's shorter side, holding
    at most a quarter dark marks, sharply two-toned against a surface at least ``SHEET_CONTRAST``
    (20) grey levels darker (white paper on a light desk), or, on a textured desk that one
    threshold splits poorly (wood grain), standing clear of nine tenths of it (``stands_apart``)
    behind a sharp edge (``sharp_edged``). A sheet under ``WIDE_SHEET`` (30%) of the frame's
    shorter side, a note far from the camera, must have writing on it (``has_writing``, at full
    size: on the copy a small digit's strokes vanish); a wider one with none on it is no
    sheet when there is writing beside it (the lit part of a page, the rest in a hand's shadow). A
    light digit on a dark canvas fails these (too thin, a ring, too much hole, a bar with nothing
    written on it), as does a lighting gradient (not two-toned). An upright sheet is cut to its box
    inset by 4% of its size each way (``SHEET_EDGE`` copy pixels at least); a tilted one (the desk
    would show in that box) to the box of the sheet eroded by as much, the desk's corners in it
    marked (``Sheet.desk``).

    When no sheet stands out, the copy's slow light is divided out (``evenly_lit``) and the sheet
    looked for again: a lamp or a window makes a desk's lit side as bright as a small sheet's
    shaded one. When still none does, the sheet is the flat region among a patterned desk
    (``flat_region``: gingham, tiles, a keyboard).

    On 150 validation digits written on notes 15-30% of the frame each way on a darker desk (a
    ``/work`` script), 15% were read right when 8% of the frame, 30% of its shorter side and 40 grey
    levels were required, 91% now; on sheets 15-45 grey levels over a light textured desk, 87% and 94%.
    """
    sheet = sheet_of(shrink(gray, 128), gray.shape)
    if sheet is None or has_writing(sheet.cut(gray)):
        return sheet
    if sheet.narrow or sheet.rounded:
        return None  # nothing written on it, narrow or with round ends: a light bar on a dark canvas (a 1)
    top, bottom, left, right = sheet.box
    beside = np.ones(gray.shape, dtype=bool)
    beside[top:bottom, left:right] = False
    if has_writing(gray[beside]):
        return None  # the writing is beside it: the lit part of a page, the rest in a shadow
    return sheet  # a blank sheet: cut out, nothing is found on it


def has_writing(cut: np.ndarray) -> bool:
    """Whether a sheet's ``cut`` (h, w), grey levels 0-255, holds writing: ``WRITING_SHARE`` of its
    pixels (``WRITING_PIXELS`` at least) ``WRITING_CONTRAST`` (40) grey levels darker than its paper
    (the median)."""
    dark = np.count_nonzero(cut < median(cut) - WRITING_CONTRAST)
    return dark >= max(WRITING_PIXELS, WRITING_SHARE * cut.size)


def sheet_of(small: np.ndarray, shape: tuple[int, int]) -> Sheet | None:
    """``find_sheet``'s search on ``small``, a copy of an image of ``shape`` (rows, cols) shrunk to
    128 pixels on its longest side; the Sheet's box in the image's pixels."""
    from scipy import ndimage

    sheet = sheet_region(small, SHEET_SMALLEST, SHEET_CONTRAST, SHEET_NARROWEST, textured=True)
    if sheet is None:
        sheet = sheet_region(evenly_lit(small), SHEET_SMALLEST, SHEET_CONTRAST, SHEET_NARROWEST, textured=True)
    if sheet is None:
        sheet = flat_region(small)
    if sheet is None:
        return None
    rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    scale_y, scale_x = shape[0] / small.shape[0], shape[1] / small.shape[1]
    inset_y, inset_x = max(0.04 * height, SHEET_EDGE), max(0.04 * width, SHEET_EDGE)  # past the edge and its shadow
    top, bottom = int(rows[0] + inset_y), int(np.ceil(rows[-1] + 1 - inset_y))
    left, right = int(cols[0] + inset_x), int(np.ceil(cols[-1] + 1 - inset_x))
    _, shorter_side, corner_gap = fitted_rectangle(sheet)
    narrow = bool(shorter_side < WIDE_SHEET * min(small.shape))
    rounded = bool(corner_gap > ROUND_ENDS * shorter_side)
    if sheet[top:bottom, left:right].all():  # upright: the inset box holds only paper
        return Sheet(
            (
                int((rows[0] + inset_y) * scale_y),
                int(np.ceil((rows[-1] + 1 - inset_y) * scale_y)),
                int((cols[0] + inset_x) * scale_x),
                int(np.ceil((cols[-1] + 1 - inset_x) * scale_x)),
            ),
            narrow=narrow,
            rounded=rounded,
        )
    inner = ndimage.distance_transform_edt(np.pad(sheet, 1))[1:-1, 1:-1] > max(0.04 * shorter_side, SHEET_EDGE)
    if not inner.any():
        return None
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    box = (
        int(rows[0] * scale_y),
        min(int(np.ceil((rows[-1] + 1) * scale_y)), shape[0]),
        int(cols[0] * scale_x),
        min(int(np.ceil((cols[-1] + 1) * scale_x)), shape[1]),
    )
    desk = ~mask_at(inner, box, (scale_y, scale_x))
    return Sheet(box, desk if desk.any() else None, narrow, rounded)


def flat_region(small: np.ndarray) -> np.ndarray | None:
    """The sheet's pixels on a patterned desk, boolean like ``small`` (a 128-pixel copy, grey levels
    0-255), or None: the largest flat region that passes a sheet's tests.

    Gingham, tiles, a keyboard or strong wood grain give no two-toned histogram and no region that
    stands apart from the rest (``sheet_region``), yet paper is flat where the desk is patterned.
    After a 3x3 median (printed lines and a fine pen's strokes go) and a Gaussian of 0.7 pixels, a
    pixel is flat where the grey level changes by under ``FLAT`` (3) levels per pixel (the Sobel
    gradient's magnitude, its kernel's weight of 8 divided out). Flat pixels are opened by a
    ``FLAT_OPENING`` (3) pixel diamond, which cuts a sheet from the desk where its edge is faint for a
    few pixels, and labelled. Of the four largest regions (``SHEET_SMALLEST`` of the frame each at
    least), the first is the sheet that
    - leaves desk beside it on two sides at least (2% of the frame's longer side: a note running
      out of a corner of the frame is a sheet);
    - stands ``SHEET_CONTRAST`` (20) grey levels over the rest (medians);
    - fills ``FLAT_SHARE`` (60%) of its convex hull, the sheet with the writing, a shadow's edge and
      its corners' notches in it, which covers under 97% of the frame;
    - and whose hull fills ``SHEET_RECTANGLE`` (85%) of its minimum-area rectangle, is
      ``SHEET_NARROWEST`` of the frame's shorter side across, holds writing (``holds_writing``),
      stands ``SHEET_CONTRAST`` over the band ``BESIDE`` (2-5) pixels outside it (medians: a squared
      page's cell, lit by a vignette, stood 17 levels over it, helper-41's and -42's sheets on
      patterned desks 42-161), ends in a step (the median gradient ``RIM`` pixels outside it
      ``FLAT_STEP`` (6) levels per pixel at least: the bright middle of a vignetted page, 3.4;
      sheets on patterned desks 8.6 and over) and does not end in dark marks (``cuts_writing``).
    The hull is returned (``flat_sheet``). When a region fails, its whole outline
    (``sheet_outline``: the writing near its edge and the paper around it added back) is tested
    again, then the outline of it and the flat regions of the same paper beside it (``same_paper``:
    a small note that its digit splits in two). A region is looked at as a sheet only when the 25th
    percentile of the frame's rim (2% of the longer side) is ``SHEET_CONTRAST`` under the image's
    98th percentile (a page filling the frame and a drawing on a white canvas have no darker desk
    around them), or as a tinted note when its median is ``TINTED`` (15) levels under the rest's: a
    yellow or pink sticky note on a white desk is darker than the desk in grey levels, and was taken
    for ink whole (helper-45's notes, a pen beside them read as a "1").
    """
    from scipy import ndimage

    rim_width = max(1, int(0.02 * max(small.shape)))
    frame_rim = np.ones(small.shape, dtype=bool)
    frame_rim[rim_width:-rim_width, rim_width:-rim_width] = False
    darker_desk = np.percentile(small[frame_rim], 25) <= np.percentile(small, 98) - SHEET_CONTRAST
    smooth = ndimage.gaussian_filter(ndimage.median_filter(small, 3, mode="nearest"), 0.7)
    gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)) / 8
    diamond = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), FLAT_OPENING)
    labels, count = ndimage.label(ndimage.binary_opening(gradient < FLAT, diamond))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    boxes = ndimage.find_objects(labels)
    for label in np.argsort(sizes)[::-1][:4]:
        if sizes[label] < SHEET_SMALLEST * small.size:
            break
        if not desk_around(boxes[label - 1], small.shape):
            continue  # the desk, or a sheet filling the frame
        seed = labels == label
        tinted = median(small[seed]) <= median(small[~seed]) - TINTED
        if not (darker_desk or tinted):
            continue  # no darker desk around it: a page filling the frame, a drawing
        for paper, region, flat in sheet_candidates(small, smooth, gradient, labels, sizes, label):
            sheet = flat_sheet(small, gradient, paper, region, flat, tinted)
            if sheet is not None:
                return sheet
    return None


def sheet_candidates(
    small: np.ndarray, smooth: np.ndarray, gradient: np.ndarray, labels: np.ndarray, sizes: np.ndarray, label: int
):
    """``flat_region``'s regions to test for the flat region ``label`` (of ``labels``, ``sizes`` its
    pixel counts; ``small`` the 128-pixel copy, ``smooth`` its smoothed copy, ``gradient`` its grey
    levels per pixel), each (paper, region, flat: booleans like ``small``), lazily: the region
    itself; its outline (``sheet_outline``: writing near its edge notched it, or the desk's checks
    roughen its edge); the outline of it and the flat regions beside it on the same paper
    (``same_paper``: a small note split in two by its digit)."""
    seed = labels == label
    yield seed, seed, seed
    whole = sheet_outline(small, smooth, gradient, seed)
    yield seed, whole, whole & (gradient < FLAT)
    halves = same_paper(small, labels, sizes, label)
    if halves is not None:
        whole = sheet_outline(small, smooth, gradient, halves)
        yield halves, whole, whole & (gradient < FLAT)


def desk_around(box: tuple[slice, slice], shape: tuple[int, int]) -> bool:
    """Whether a region whose bounding ``box`` (rows, cols slices) lies in a copy of ``shape`` leaves
    desk on two sides at least (2% of the longer side): a note running out of a corner of the frame
    is a sheet still, the desk itself and a sheet filling the frame are not."""
    rows, cols = box
    gaps = (rows.start, shape[0] - rows.stop, cols.start, shape[1] - cols.stop)
    return sum(gap >= 0.02 * max(shape) for gap in gaps) >= 2


def same_paper(small: np.ndarray, labels: np.ndarray, sizes: np.ndarray, label: int) -> np.ndarray | None:
    """The flat region ``label`` of ``labels`` and those within ``HALVES_GAP`` (10) pixels of it, a
    quarter of its size at least, whose median grey is within ``SAME_PAPER`` (4) levels of its own:
    a note a digit divides into two flat halves (helper-45's small notes beside a pen); boolean like
    ``small``, or None when there are none."""
    from scipy import ndimage

    seed = labels == label
    level = median(small[seed])
    beside = np.unique(labels[ndimage.binary_dilation(seed, iterations=HALVES_GAP)])
    halves = [
        other
        for other in beside
        if other not in (0, label)
        and sizes[other] >= 0.25 * sizes[label]
        and abs(median(small[labels == other]) - level) <= SAME_PAPER
    ]
    return np.isin(labels, [label, *halves]) if halves else None


def flat_sheet(
    small: np.ndarray, gradient: np.ndarray, paper: np.ndarray, region: np.ndarray, flat: np.ndarray, tinted: bool
) -> np.ndarray | None:
    """``flat_region``'s tests of one ``region`` grown from flat ``paper`` (booleans like ``small``,
    a 128-pixel copy, grey levels 0-255; ``gradient``: its grey levels per pixel; ``flat``: the
    region's flat pixels): the region's convex hull when they pass, else None. ``tinted``: the
    paper is darker than the desk (a yellow or pink sticky note on a white desk, in grey levels),
    so it must stand ``TINTED`` (15) levels under the rest and under the band beside it, and end in
    a step measured against that contrast (``tinted_edge``: its contrast is smaller than a white
    sheet's on a dark desk, so the gradient across its edge is too)."""
    from scipy import ndimage
    from skimage.morphology import convex_hull_image

    if not desk_around(ndimage.find_objects(region.astype(np.int8))[0], small.shape):
        return None  # the desk, or a sheet filling the frame
    paper_level = median(small[paper])
    contrast = SHEET_CONTRAST if not tinted else TINTED
    sign = 1.0 if not tinted else -1.0
    if sign * (paper_level - median(small[~region])) < contrast:
        return None  # no brighter (or, tinted, darker) than the rest: a desk's flat patch
    sheet = convex_hull_image(region)
    area = int(np.count_nonzero(sheet))
    if area > 0.97 * small.size or np.count_nonzero(flat & sheet) < FLAT_SHARE * area:
        return None
    rectangle_area, shorter_side = minimum_area_rectangle(sheet)
    if area < SHEET_RECTANGLE * rectangle_area or shorter_side < SHEET_NARROWEST * min(small.shape):
        return None
    beside = ndimage.binary_dilation(sheet, iterations=BESIDE[1]) & ~ndimage.binary_dilation(
        sheet, iterations=BESIDE[0]
    )
    if not beside.any() or sign * (paper_level - median(small[beside])) < contrast:
        return None  # paper beside it: a squared page's lit cell, not a sheet on a desk
    if tinted:
        if not tinted_edge(gradient, sheet, median(small[beside]) - paper_level):
            return None  # it fades into the desk: a shadow's penumbra
        if writing_crosses(small, convex_hull_image(paper), paper_level, median(small[beside])):
            return None  # a phone's shadow over part of the digit
    elif median(gradient[ndimage.binary_dilation(sheet, iterations=RIM) & ~sheet]) < FLAT_STEP:
        return None  # it ends in a slope: the bright middle of a vignetted page
    if not holds_writing(small, sheet, paper_level) or cuts_writing(small, sheet, paper_level):
        return None
    return sheet


def writing_crosses(small: np.ndarray, sheet: np.ndarray, paper_level: float, desk_level: float) -> bool:
    """Whether writing runs out of a tinted note's ``sheet`` (its flat paper's hull, boolean like
    ``small``, grey levels 0-255; its outline would take in the writing that crosses its edge): a
    dark mark inside it that reaches past ``RIM`` + 3 pixels outside it, beyond its edge.
    Marks are ``WRITING_CONTRAST`` under ``paper_level`` inside the sheet and under the mean of
    ``paper_level`` and ``desk_level`` (the band beside it) outside, 8-connected. A phone's shadow
    is a darker rectangle too, but a digit it covers part of runs out of it; a pen lying beside a
    note does not touch it."""
    from scipy import ndimage

    outside = ~sheet
    dark = np.where(
        outside, small < (paper_level + desk_level) / 2 - WRITING_CONTRAST, small < paper_level - WRITING_CONTRAST
    )
    marks, count = ndimage.label(dark, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return False
    inside = np.zeros(count + 1, dtype=bool)
    inside[marks[sheet]] = True
    beyond = np.zeros(count + 1, dtype=bool)
    beyond[marks[~ndimage.binary_dilation(sheet, iterations=RIM + 3)]] = True
    crossing = inside & beyond
    crossing[0] = False
    return bool(crossing.any())


def tinted_edge(gradient: np.ndarray, sheet: np.ndarray, contrast: float) -> bool:
    """Whether a tinted note's ``sheet`` (boolean like ``gradient``, the copy's grey levels per
    pixel) ends in a step: the 75th percentile of the gradient in the ``RIM`` + 1 pixels outside it
    is ``TINTED_STEP`` (0.3) of its ``contrast`` (grey levels between the band beside it and its
    paper) at least. The flat region stops a few pixels inside the note's edge, so the band holds
    the edge; a shadow's soft edge or a slope of light spreads the same contrast wider. Helper-45's
    notes: 6.9-7.9 for contrasts of 18-23."""
    from scipy import ndimage

    band = ndimage.binary_dilation(sheet, iterations=RIM + 1) & ~sheet
    return float(np.percentile(gradient[band], 75)) >= TINTED_STEP * contrast


def sheet_outline(small: np.ndarray, smooth: np.ndarray, gradient: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The whole sheet around a flat ``seed`` (``flat_region``'s labels; booleans like ``small``, a
    128-pixel copy, grey levels 0-255, ``smooth`` its smoothed copy, ``gradient`` grey levels per
    pixel), boolean like ``small``, holes filled. A digit written near the sheet's edge leaves no flat
    paper between them (its strokes' gradient, then the opening), so the flat region ends in a notch
    there and its hull fails the rectangle test; a desk's dark checks then sit in its rim. The
    outline adds back
    - the flat pixels the opening took (``FLAT_OPENING`` + 1 pixels at most, among pixels under
      ``FLAT``: the paper between the writing and the edge);
    - the writing: dark marks (``WRITING_CONTRAST`` under the seed's median, 8-connected) with half
      their pixels or more inside that region's convex hull (a desk's dark checks lie outside it);
    - paper around the writing: pixels of ``smooth`` no darker than the seed's 5th percentile less
      ``OUTLINE_MARGIN`` (10) grey levels within ``OUTLINE_REACH`` (6) pixels of a mark.
    On 600 validation digits on patterned desks (``digit_sets.patterned_desk``, a ``/work`` script)
    the sheet was found under 13 more of them (571 -> 584 read right)."""
    from scipy import ndimage
    from skimage.morphology import convex_hull_image

    region = ndimage.binary_dilation(seed, iterations=FLAT_OPENING + 1, mask=gradient < FLAT)
    dark, count = ndimage.label(small < median(small[seed]) - WRITING_CONTRAST, structure=np.ones((3, 3), dtype=bool))
    inside = np.bincount(dark[convex_hull_image(region)], minlength=count + 1)
    writing = inside >= 0.5 * np.bincount(dark.ravel(), minlength=count + 1)
    writing[0] = False
    marks = writing[dark]
    paper = smooth >= np.percentile(small[seed], 5) - OUTLINE_MARGIN
    around = ndimage.binary_dilation(marks, iterations=OUTLINE_REACH) & paper
    return fill_holes(region | marks | around)


def holds_writing(small: np.ndarray, sheet: np.ndarray, paper_level: float) -> bool:
    """Whether ``flat_region``'s ``sheet`` (boolean like ``small``, grey levels 0-255) has writing in
    it: ``FLAT_WRITING`` (4) pixels ``WRITING_CONTRAST`` under ``paper_level`` at least, ``RIM``
    pixels inside its edge. A bold white brush's 1 on a dark ground is flat, bright and a rectangle,
    but nothing is written on it."""
    from scipy import ndimage

    inside = ndimage.binary_erosion(sheet, iterations=RIM)
    return np.count_nonzero(inside & (small < paper_level - WRITING_CONTRAST)) >= FLAT_WRITING


def cuts_writing(small: np.ndarray, sheet: np.ndarray, paper_level: float) -> bool:
    """Whether ``flat_region``'s ``sheet`` (boolean like ``small``, grey levels 0-255) ends where its
    edge should not be. Dark marks are pixels ``WRITING_CONTRAST`` under ``paper_level``. It does
    when they fill over ``RIM_DARK`` (10%) of its ``RIM`` pixel rim (a patterned desk's dark checks,
    the edge of a second sheet), or when marks running from its rim into its inside (8-connected),
    writing that the rim cuts through, have over ``RIM_WRITING`` (20%) of the sheet's dark pixels in
    the rim: the lit part of a sheet cut off by a shadow's edge across the digit (25% on a synthetic
    page). Dark pixels of the desk caught in the rim reach no further in, and do not count."""
    from scipy import ndimage

    dark = sheet & (small < paper_level - WRITING_CONTRAST)
    inside = ndimage.binary_erosion(sheet, iterations=RIM)
    rim = sheet & ~inside
    if np.count_nonzero(rim & dark) > RIM_DARK * np.count_nonzero(rim):
        return True
    labels, count = ndimage.label(dark, structure=np.ones((3, 3), dtype=bool))
    crossing = np.zeros(count + 1, dtype=bool)
    crossing[labels[rim & dark]] = True
    crossing &= np.bincount(labels[inside & dark], minlength=count + 1).astype(bool)
    crossing[0] = False
    return np.count_nonzero(crossing[labels] & rim) > RIM_WRITING * np.count_nonzero(dark)


def evenly_lit(small: np.ndarray) -> np.ndarray:
    """``small`` (h, w), grey levels, divided by its light: a Gaussian blur ``LIGHT_SPREAD`` of its
    longer side wide, scaled back to its median grey. A lamp or a window lighting the desk unevenly
    makes its lit side as bright as a small sheet's shaded one, and the one threshold finds no sheet;
    divided by the slow light, the sheet stands out again (its edges get a halo, which the
    rectangle test tolerates)."""
    from scipy import ndimage

    light = ndimage.gaussian_filter(small.astype(np.float32), LIGHT_SPREAD * max(small.shape), mode="nearest")
    return (small / np.maximum(light, 1.0) * float(np.median(small))).astype(np.float32)


def sheet_region(
    small: np.ndarray, smallest: float = 0.08, contrast: float = 40.0, narrowest: float = 0.3, textured: bool = False
) -> np.ndarray | None:
    """The sheet's pixels, boolean like ``small`` (a 128-pixel copy, values 0-255), holes filled, when
    ``find_sheet``'s tests pass; else None. ``smallest``: the least share of the frame it covers;
    ``contrast``: grey levels it stands above its surroundings at least; ``narrowest``: the least
    share of the frame's shorter side its minimum-area rectangle's shorter side spans.

    The bright region is what lies above Otsu's threshold of the copy, smoothed; none when that
    splits the grey levels poorly (an effectiveness under TWO_TONED: a lighting gradient), unless
    ``textured`` (a desk's grain may be why): then the region must stand apart from the rest
    (``stands_apart``), and when it does not, the brighter part's own Otsu threshold is tried (a
    small note on a wooden desk whose light patches the first threshold took with it)."""
    from scipy import ndimage

    smooth = ndimage.uniform_filter(small, 3)
    threshold, effectiveness = otsu_threshold(smooth)
    if effectiveness >= TWO_TONED:
        return region_above(small, smooth > threshold, smallest, contrast, narrowest)
    if not textured:
        return None
    for level in (threshold, otsu_threshold(smooth[smooth > threshold])[0]):
        sheet = region_above(small, smooth > level, smallest, contrast, narrowest, apart=True)
        if sheet is not None:
            return sheet
    return None


def region_above(
    small: np.ndarray, bright: np.ndarray, smallest: float, contrast: float, narrowest: float, apart: bool = False
) -> np.ndarray | None:
    """``sheet_region``'s tests of the largest region of ``bright`` (boolean like ``small``), holes
    filled: the sheet's pixels, or None. ``apart``: it must also stand apart from the rest
    (``stands_apart``) behind a sharp edge (``sharp_edged``)."""
    from scipy import ndimage

    labels, count = ndimage.label(bright)
    if count == 0:
        return None
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))  # the most pixels; sum_labels' choice
    sheet = fill_holes(labels == largest)
    if sheet.all() or (apart and not (stands_apart(small, sheet & bright, ~sheet) and sharp_edged(small, sheet))):
        return None
    rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    area = int(sheet.sum())
    gaps = (rows[0], sheet.shape[0] - 1 - rows[-1], cols[0], sheet.shape[1] - 1 - cols[-1])
    marks = sheet & ~bright  # the digit written on it
    if not (
        smallest <= area / sheet.size <= 0.97
        and marks.sum() <= 0.25 * area
        and float(np.median(small[sheet])) - float(np.median(small[~sheet])) >= contrast
        and desk_beside(gaps, marks, max(sheet.shape))
    ):
        return None
    rectangle_area, shorter_side = minimum_area_rectangle(sheet)
    if area < 0.85 * rectangle_area:
        return None
    if shorter_side < narrowest * min(sheet.shape):
        return None
    return sheet


def stands_apart(small: np.ndarray, paper: np.ndarray, rest: np.ndarray) -> bool:
    """Whether a bright region's ``paper`` (boolean like ``small``, grey levels 0-255) is brighter
    than its surroundings ``rest`` almost everywhere: its 10th percentile SHEET_GAP grey levels over
    their 90th. A small white note on a light wooden desk: the desk's grain spreads the grey levels
    so that one threshold splits them poorly (Otsu's effectiveness 0.48-0.69 on helper-40's birch and
    oak desks, under TWO_TONED), yet the note stands 20-75 grey levels clear of nine tenths of the
    desk. Across a lighting gradient the region above the threshold meets the rest at it."""
    return float(np.percentile(small[paper], 10)) - float(np.percentile(small[rest], 90)) >= SHEET_GAP


def sharp_edged(small: np.ndarray, sheet: np.ndarray) -> bool:
    """Whether a region ``sheet`` (boolean like ``small``, grey levels 0-255) ends in a step: the
    median of its EDGE_BAND pixels inside its edge SHEET_GAP grey levels over that of as many
    outside (the frame's edges left out). A sheet's edge is a step of 40-80 levels on the 128-pixel
    copy; where a lamp's light fades out the brightest part of the gradient ends in a slope of a
    few levels, though it stands clear of the rest (``stands_apart``)."""
    from scipy import ndimage

    inner = sheet & ~ndimage.binary_erosion(sheet, iterations=EDGE_BAND, border_value=1)
    outer = ndimage.binary_dilation(sheet, iterations=EDGE_BAND) & ~sheet
    if not inner.any() or not outer.any():
        return False
    return float(np.median(small[inner])) - float(np.median(small[outer])) >= SHEET_GAP


def mask_at(mask: np.ndarray, box: tuple[int, int, int, int], scale: tuple[float, float]) -> np.ndarray:
    """A boolean ``mask`` of a shrunken copy read at each pixel of ``box`` (top, bottom, left, right)
    of the full image, ``scale`` (rows, cols) full pixels per copy pixel: boolean (bottom - top,
    right - left), each pixel the mask's value at its centre (clipped to the mask)."""
    at_rows = np.minimum(((np.arange(box[0], box[1]) + 0.5) / scale[0]).astype(int), mask.shape[0] - 1)
    at_cols = np.minimum(((np.arange(box[2], box[3]) + 0.5) / scale[1]).astype(int), mask.shape[1] - 1)
    return mask[np.ix_(at_rows, at_cols)]


def desk_beside(gaps: tuple[int, ...], marks: np.ndarray, longest: int) -> bool:
    """Whether the dark margins beside a bright region are a desk: ``gaps`` (top, bottom, left, right),
    pixels between the region and the frame's edges, at least 2% of the ``longest`` side on two sides
    (a bold digit touching the frame's edge is not a desk); on one side only, when the region holds
    ``marks`` (boolean, a digit written on the sheet) and that margin is wider than their strokes
    (twice the 90th percentile of their distance transform): a 1 cropped tightly along the frame's
    edge, the only mark, is no desk. (A 1 so cropped beside another digit, "10" cut along the 1, is
    taken for one.)"""
    from scipy import ndimage

    sides = [gap for gap in gaps if gap >= 0.02 * longest]
    if len(sides) >= 2:
        return True
    if len(sides) == 0 or not marks.any():
        return False
    distance = ndimage.distance_transform_edt(np.pad(marks, 1))[1:-1, 1:-1]
    stroke = 2 * float(np.percentile(distance[marks], 90))
    return sides[0] > stroke


def minimum_area_rectangle(mask: np.ndarray) -> tuple[float, float]:
    """(area, shorter side) in pixels of the smallest rectangle, at any angle, holding every True
    pixel of a boolean ``mask`` (h, w) with at least one (``fitted_rectangle``)."""
    area, shorter_side, _ = fitted_rectangle(mask)
    return area, shorter_side


def fitted_rectangle(mask: np.ndarray) -> tuple[float, float, float]:
    """(area, shorter side, corner gap) in pixels of the smallest rectangle, at any angle, holding
    every True pixel of a boolean ``mask`` (h, w) with at least one: one side lies along an edge of
    the pixels' convex hull (Freeman and Shapira 1975), so each edge's direction is tried
    (``scipy.spatial``'s hull). A pixel counts as a unit square: an upright rectangle of h x w pixels
    gives (h * w, min(h, w), 0). The corner gap is how near the mask comes to the rectangle's nearest
    corner: 0 for a sheet's square corner, ``(sqrt(2) - 1) / 2``, about a fifth, of the width for a
    stroke's round ends or a disk. Only each row's first and last True
    pixel are hulled: the others lie between them, so the hull is the same (a 96x128 copy's sheet:
    5.6 ms with every pixel, 0.4 ms so)."""
    from scipy.spatial import ConvexHull, QhullError

    corners = hull_points(mask)
    try:
        hull = corners[ConvexHull(corners).vertices]
    except QhullError:  # all on one line
        return float(np.count_nonzero(mask)), 1.0, 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.arctan2(edges[:, 0], edges[:, 1])
    cos, sin = np.cos(angles), np.sin(angles)
    along = hull[:, 1, None] * cos + hull[:, 0, None] * sin  # (points, directions)
    across = -hull[:, 1, None] * sin + hull[:, 0, None] * cos
    lengths, widths = np.ptp(along, axis=0), np.ptp(across, axis=0)
    best = int(np.argmin(lengths * widths))
    ends, sides, cos, sin = along[:, best], across[:, best], cos[best], sin[best]
    gap = min(  # from each of the rectangle's corners (its along, across) to the nearest pixel corner
        float(np.hypot(corners[:, 1] - (a * cos - c * sin), corners[:, 0] - (a * sin + c * cos)).min())
        for a in (ends.min(), ends.max())
        for c in (sides.min(), sides.max())
    )
    return float(lengths[best] * widths[best]), float(min(lengths[best], widths[best])), gap


def hull_points(mask: np.ndarray) -> np.ndarray:
    """The points whose convex hull is that of every True pixel of a boolean ``mask`` (h, w) with at
    least one, each pixel a unit square: the four corners of each row's first and last True pixel
    (the others lie between them); float64 (n, 2), (row, col)."""
    filled = np.flatnonzero(mask.any(axis=1))
    band = mask[filled]
    first, last = np.argmax(band, axis=1), band.shape[1] - 1 - np.argmax(band[:, ::-1], axis=1)
    rows, cols = np.concatenate([filled, filled]), np.concatenate([first, last])
    return np.concatenate([np.stack([rows + dy, cols + dx], axis=1) for dy in (0, 1) for dx in (0, 1)]).astype(
        np.float64
    )


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_fill_holes(mask)``: a boolean 2-D ``mask`` with every region of False
    (4-connected) that does not reach the frame's edge made True. The background is labelled once,
    where scipy dilates from the edge pass after pass until nothing changes (2x slower)."""
    from scipy import ndimage

    background, count = ndimage.label(~mask)
    outside = np.zeros(count + 1, dtype=bool)
    outside[background[[0, -1], :]] = True
    outside[background[:, [0, -1]]] = True
    outside[0] = False  # label 0 is the mask itself
    return ~outside[background]


def sheet_in(gray: np.ndarray) -> Sheet | None:
    """The sheet of paper in a grayscale image (h, w) (see ``find_sheet``), or None. Images under 128
    pixels on a side (an enlarged scan, a thumbnail) are taken as the paper itself: None."""
    return None if min(gray.shape) < 128 else find_sheet(gray)


def crop_to_sheet(gray: np.ndarray) -> np.ndarray:
    """``gray`` cut to the sheet of paper in it (``sheet_in``), or unchanged."""
    sheet = sheet_in(gray)
    return gray if sheet is None else sheet.cut(gray)
