"""The shift form of im2col/col2im (stride 1, width kept) against the general padded form, which the conv
parity tests check against the loop reference: same columns exactly, same col2im, chosen exactly when
it applies, and zero borders restored after the columns were overwritten (thread splits: test_conv.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.layers.conv import Conv2D
from nnctl.layers.im2col import Im2Col, Window
from nnctl.layers.im2col_shift import ShiftIm2Col
from nnctl.options.spec import validate

FITTING = [  # (in_shape, kernel, padding, dilation): stride 1 and output width == input width
    ((2, 6, 7), 3, 1, 1),
    ((3, 5, 5), 5, 2, 1),
    ((1, 4, 9), 1, 0, 1),
    ((2, 7, 6), [3, 1], [1, 0], 1),
    ((2, 6, 8), [1, 3], [0, 1], 1),
    ((2, 8, 7), 3, 2, 2),                  # dilation 2 needs padding 2 to keep the width
    ((1, 5, 6), 3, [0, 1], 1),             # no height padding: Ho = H - 2
    ((1, 4, 6), 3, [3, 1], 1),             # more height padding than needed: Ho = H + 4, rows of zeros
    ((2, 1, 5), [1, 3], [0, 1], 1),        # a single row
    ((2, 5, 1), [3, 1], [1, 0], 1),        # a single column
    ((2, 3, 4), [3, 5], [1, 2], [2, 1]),   # kernel taller than the image once dilated, padding covers it
]
NOT_FITTING = [((2, 6, 7), 3, 0, 1, 1), ((2, 6, 7), 3, 1, 1, 2), ((2, 6, 7), 3, 1, 2, 1), ((2, 6, 7), 2, 1, 1, 1)]


def windows():
    for in_shape, kernel, padding, dilation in FITTING:
        yield Window(in_shape, kernel, 1, padding, dilation)


@pytest.mark.parametrize("window", list(windows()), ids=[f"case{i}" for i in range(len(FITTING))])
def test_columns_and_images_equal_the_padded_form(window):
    assert ShiftIm2Col.fits(window)
    rng = np.random.default_rng(window.height * 10 + window.width)
    x = rng.standard_normal((3, window.channels, window.height, window.width))
    padded, shifted = Im2Col(window), ShiftIm2Col(window)
    expected = padded.columns(x).copy()
    np.testing.assert_array_equal(shifted.columns(x), expected)
    dcolumns = rng.standard_normal(expected.shape)
    np.testing.assert_allclose(shifted.image(dcolumns.copy()), padded.image(dcolumns.copy()), rtol=0, atol=1e-13)


@pytest.mark.parametrize("in_shape, kernel, padding, stride, dilation", NOT_FITTING)
def test_other_geometries_are_refused(in_shape, kernel, padding, stride, dilation):
    window = Window(in_shape, kernel, stride, padding, dilation)
    assert not ShiftIm2Col.fits(window)
    with pytest.raises(ValueError, match="stride 1 and an output as wide as the input"):
        ShiftIm2Col(window)


def make(in_shape, dtype=np.float64, **given) -> Conv2D:
    layer = Conv2D("conv", **validate(Conv2D.options, given, "model.layers[0]"))
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


def test_the_layer_uses_the_shift_form_exactly_where_it_applies():
    assert isinstance(make((2, 6, 7), filters=2, kernel=3, padding=1).im2col, ShiftIm2Col)
    assert isinstance(make((2, 6, 7), filters=2, kernel=3, padding="same", dilation=2).im2col, ShiftIm2Col)
    assert type(make((2, 6, 7), filters=2, kernel=3).im2col) is Im2Col
    assert type(make((2, 6, 7), filters=2, kernel=3, padding=1, stride=2).im2col) is Im2Col


def test_zero_borders_come_back_after_backward_wrote_over_the_columns():
    # backward writes the column gradient into the columns' work array, borders included; the next
    # forward with the same batch size must clear them again
    rng = np.random.default_rng(3)
    layer = make((2, 5, 6), filters=3, kernel=3, padding=[2, 1])
    x = rng.standard_normal((4, 2, 5, 6))
    first = layer.forward(x, True).copy()
    expected_columns = Im2Col(layer.geometry).columns(x).copy()
    layer.backward(rng.standard_normal(first.shape) + 5.0)     # no zeros in the column gradient
    np.testing.assert_array_equal(layer.forward(x, True), first)
    np.testing.assert_array_equal(layer.im2col.columns(x), expected_columns)

