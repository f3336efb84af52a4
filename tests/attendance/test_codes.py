"""The code format and its signature, without Flask."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.attendance import codes
from backend.attendance.errors import CodeExpired, CodeInvalid

SECRET = "s3cret"
TTL = 30
NOW = datetime(2026, 11, 14, 1, 0, 10, tzinfo=timezone.utc)


def test_code_fits_a_wechat_scene_and_round_trips():
    c = codes.Code("T", 2_000_000_000, "out", codes.window_of(datetime(2999, 1, 1, tzinfo=timezone.utc), TTL))
    text = codes.make(SECRET, c)
    assert len(text) <= 32 and set(text) <= codes.SCENE_CHARS
    assert codes.parse(SECRET, text) == c


@settings(max_examples=200)
@given(kind=st.sampled_from("TM"), sid=st.integers(1, 36**6 - 1), action=st.sampled_from(["in", "out"]),
       window=st.integers(0, 36**6 - 1))
def test_every_code_round_trips_within_32_scene_characters(kind, sid, action, window):
    text = codes.make(SECRET, codes.Code(kind, sid, action, window))
    assert len(text) <= 32 and set(text) <= codes.SCENE_CHARS
    assert codes.parse(SECRET, text) == codes.Code(kind, sid, action, window)


def test_changing_any_single_character_is_invalid():
    text = codes.make(SECRET, codes.Code("T", 42, "in", codes.window_of(NOW, TTL)))
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_."
    tried = 0
    for i, ch in enumerate(text):
        for other in alphabet:
            if other == ch:
                continue
            with pytest.raises(CodeInvalid):
                codes.parse(SECRET, text[:i] + other + text[i + 1:])
            tried += 1
    assert tried > 1000


def test_other_secret_truncated_or_padded_codes_are_invalid():
    text = codes.make(SECRET, codes.Code("T", 42, "in", 100))
    for bad in (text[:-1], text + "A", "0" + text, "", "T1.i1." + "A" * 16, text.replace(".", "-")):
        with pytest.raises(CodeInvalid):
            codes.parse(SECRET, bad)
    with pytest.raises(CodeInvalid):
        codes.parse("another-secret", text)


def test_a_leading_zero_spelling_is_rejected_even_if_signed():
    header = "T02a.i2s"
    forged = f"{header}.{codes._sign(SECRET, header)}"
    with pytest.raises(CodeInvalid):
        codes.parse(SECRET, forged)


def test_current_and_previous_window_accepted_older_expired_newer_invalid():
    w = codes.window_of(NOW, TTL)
    codes.check_age(codes.Code("T", 1, "in", w), NOW, TTL)
    codes.check_age(codes.Code("T", 1, "in", w - 1), NOW, TTL)
    with pytest.raises(CodeExpired):
        codes.check_age(codes.Code("T", 1, "in", w - 2), NOW, TTL)
    with pytest.raises(CodeInvalid):
        codes.check_age(codes.Code("T", 1, "in", w + 1), NOW, TTL)


def test_window_bounds():
    w = codes.window_of(NOW, TTL)
    assert codes.window_start(w, TTL) <= NOW < codes.window_end(w, TTL)
    assert codes.window_end(w, TTL) - codes.window_start(w, TTL) == timedelta(seconds=TTL)
    assert codes.accepted_until(codes.Code("T", 1, "in", w), TTL) == codes.window_end(w + 1, TTL)


def test_make_refuses_what_a_scene_cannot_hold():
    with pytest.raises(ValueError):
        codes.make(SECRET, codes.Code("T", 36**7, "in", 1))
    with pytest.raises(ValueError):
        codes.make(SECRET, codes.Code("t", 1, "in", 1))
