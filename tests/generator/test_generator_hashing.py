"""The hashing primitives: unambiguous tuple framing and keyed bijections."""

from __future__ import annotations

import hashlib

import pytest

from linkup_emulator.generator.hashing import DOMAIN, Draw, Node, b64, frame, frame_int, permute


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("ab", "c"), ("a", "bc")),
        (("a", ""), ("a",)),
        ((1,), ("1",)),
        ((12,), (1, 2)),
        (("pymk", 1, "name"), ("pymk", 1, "nam", "e")),
    ],
    ids=["split", "empty-part", "int-vs-str", "int-split", "field-split"],
)
def test_framing_never_confuses_two_tuples(
    left: tuple[str | int, ...], right: tuple[str | int, ...]
) -> None:
    assert frame(*left) != frame(*right)


def test_framing_is_prefix_free_so_nodes_can_fork() -> None:
    direct = hashlib.sha256(frame(DOMAIN, "seed", "acc", "pymk", 3, "name")).digest()
    forked = Node.root("seed", "acc").child(frame("pymk") + frame_int(3)).digest(frame("name"))
    assert forked == direct
    assert frame_int(3) == frame(3)


def test_frame_layout_is_tag_length_bytes() -> None:
    assert frame("é") == (3).to_bytes(4, "big") + b"s\xc3\xa9"
    assert frame(-7) == (3).to_bytes(4, "big") + b"i-7"


@pytest.mark.parametrize("bits", [8, 12, 13])
def test_permute_is_a_bijection(bits: int) -> None:
    keys = (0xDEADBEEF, 0x12345678, 0x9ABCDEF0, 0x0F0F0F0F)
    outputs = {permute(x, bits, keys) for x in range(1 << bits)}
    assert outputs == set(range(1 << bits))


def test_permute_depends_on_its_key() -> None:
    a = [permute(x, 32, (1, 2, 3, 4)) for x in range(64)]
    b = [permute(x, 32, (1, 2, 3, 5)) for x in range(64)]
    assert a != b
    assert len(set(a)) == 64


def test_draw_is_mixed_radix_over_the_digest() -> None:
    digest = bytes(range(32))
    value = int.from_bytes(digest, "big")
    draw = Draw(digest)
    assert draw.below(10) == value % 10
    assert draw.below(7) == (value // 10) % 7
    assert draw.percent() == (value // 70) % 100


def test_b64_is_unpadded_urlsafe() -> None:
    assert b64(b"\xfb\xff") == "-_8"
    assert len(b64(bytes(32))) == 43
