"""Content-addressed randomness: SHA-256 over length-prefixed tuples, and keyed bijections."""

from __future__ import annotations

import binascii
import hashlib
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash

# Bumping the domain tag changes every generated value at once; do it only on purpose.
DOMAIN = "linkup-emulator/people/v1"


def frame_int(value: int) -> bytes:
    """frame(value) for one int, on the per-record hot path."""
    data = b"i%d" % value
    return len(data).to_bytes(4, "big") + data


def frame(*parts: str | int) -> bytes:
    """Encode a tuple unambiguously: per part a type tag, a 4-byte length, then the bytes.

    Framing is prefix-free, so hashing frame(a, b) then frame(c) equals hashing frame(a, b, c):
    a hasher can be forked at any level, and field names framed once, without changing what
    the tuple means.
    """
    out = bytearray()
    for part in parts:
        data = b"i%d" % part if isinstance(part, int) else b"s" + part.encode()
        out += len(data).to_bytes(4, "big")
        out += data
    return bytes(out)


class Node:
    """The hash of a tuple prefix; children extend the tuple without rehashing the prefix.

    Methods take already-framed bytes (see frame()) so hot paths frame constant field names once.
    """

    __slots__ = ("_h",)

    def __init__(self, hasher: _Hash) -> None:
        self._h = hasher

    @classmethod
    def root(cls, *parts: str | int) -> Node:
        return cls(hashlib.sha256(frame(DOMAIN, *parts)))

    def child(self, framed: bytes) -> Node:
        h = self._h.copy()
        h.update(framed)
        return Node(h)

    def digest(self, framed: bytes) -> bytes:
        """sha256(frame(DOMAIN, *prefix) + framed): the 32 bytes that feed one field."""
        h = self._h.copy()
        h.update(framed)
        return h.digest()

    def draw(self, framed: bytes) -> Draw:
        return Draw(self.digest(framed))

    def words(self, framed: bytes) -> tuple[int, ...]:
        """The field's digest as eight 32-bit words, the hot path's source of picks.

        A pick is `word % n`: its bias is below n / 2**32, invisible for lists of a few
        thousand; reading words is several times cheaper than a sequential Draw.
        """
        h = self._h.copy()
        h.update(framed)
        result: tuple[int, ...] = eight_words(h.digest())
        return result


# A digest read as eight big-endian 32-bit words, in one C call.
eight_words = struct.Struct(">8I").unpack


class Draw:
    """Successive bounded integers taken from one digest (mixed-radix, 256 bits of entropy).

    For one-off builds (the vocabulary); records use Node.words.
    """

    __slots__ = ("_r",)

    def __init__(self, digest: bytes) -> None:
        self._r = int.from_bytes(digest, "big")

    def below(self, n: int) -> int:
        """A value in [0, n); bias is < n / 2**(bits left), negligible for our small n."""
        self._r, value = divmod(self._r, n)
        return value

    def percent(self) -> int:
        return self.below(100)

    def word(self) -> int:
        return self.below(1 << 32)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64(data: bytes) -> str:
    """URL-safe base64 without padding, the alphabet of LinkedIn ids and signatures."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def permutation_keys(digest: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two independent sets of four 32-bit round keys for permute(), read from one digest."""
    words = eight_words(digest)
    return words[:4], words[4:]


def permute(x: int, bits: int, keys: tuple[int, ...]) -> int:
    """A keyed bijection on [0, 2**bits): distinct inputs always give distinct outputs.

    Each step (xor a key, multiply by an odd constant mod 2**bits, xor-shift right, add a key)
    is invertible, so the composition is too; that is what makes suffixes and member ids unique
    by construction rather than probably unique. Two rounds scatter neighbouring inputs enough
    that consecutive positions share no visible pattern.
    """
    mask = (1 << bits) - 1
    shift = (bits + 1) // 2
    x = (((x ^ keys[0]) & mask) * 0x7FEB352D) & mask
    x = ((x ^ (x >> shift)) + keys[1]) & mask
    x = (((x ^ keys[2]) & mask) * 0x846CA68B) & mask
    return ((x ^ (x >> shift)) + keys[3]) & mask


def unpermute(y: int, bits: int, keys: tuple[int, ...]) -> int:
    """The inverse of permute(): unpermute(permute(x, bits, keys), bits, keys) == x."""
    mask = (1 << bits) - 1
    shift = (bits + 1) // 2
    c = (y - keys[3]) & mask
    c ^= c >> shift  # a xor-shift by at least half the width undoes itself
    b = ((c * pow(0x846CA68B, -1, 1 << bits)) & mask) ^ (keys[2] & mask)
    a = (b - keys[1]) & mask
    a ^= a >> shift
    return ((a * pow(0x7FEB352D, -1, 1 << bits)) & mask) ^ (keys[0] & mask)
