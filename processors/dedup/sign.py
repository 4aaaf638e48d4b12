"""An article's dedup signature: exact key, MinHash LSH band keys and a similarity sketch.

Pure and identical in every process (fixed MinHash seed, BLAKE2b band digests, SHAKE-256
sketch permutations), because in the worker the band keys decide which partition an article
meets its copies in: two processes that disagreed on a key would never bring a copy and its
original together.

Bucket keys are integers: a band key is a 32-bit digest of the band's index and rows (two
unrelated articles share one by chance with probability 2^-32 per band, which costs one sketch
comparison); the exact key is a 64-bit digest of ``content_hash`` with bit 64 set, so that it
can never equal a band key (an exact twin is a match without verification).

The sketch (``SKETCH_BITS`` one-bit MinHashes) is what verification compares: two articles'
bits agree with probability (1 + J) / 2, so ``sketch_jaccard`` estimates their shingle Jaccard
J within about 0.02 (one standard deviation at J = 0.8) from 128 bytes each, whatever the
length of the articles. See docs/dedup.md for why the state keeps this rather than the shingles.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from processors.dedup.text import SHINGLE_SIZE, shingle_hashes
from wirehose.core.article import Article, content_hash

# 64 bands of 2 rows: P(candidate) = 1 - (1 - J^2)^64 is 0.998 at J=0.3 and 0.15 at J=0.05.
# A low LSH threshold is the price of containment: a half-length copy has J ~ 0.5, and a copy
# of 30% of a story ~0.3; a Jaccard-tuned LSH at 0.8 would never propose them.
NUM_PERM = 128
BANDS = 64
MINHASH_SEED = 20231016
EXACT_BIT = 1 << 64  # set in every exact key, never in a band key

SKETCH_BITS = 1024
SKETCH_BYTES = SKETCH_BITS // 8
_SKETCH_SEED = b"wirehose-dedup-sketch-1"
# (a * x + b) mod 2^32 with odd a: one permutation of the 32-bit shingle hashes per sketch bit.
# Derived from SHAKE-256, not a random generator, so that no library upgrade can change them.
_constants = np.frombuffer(hashlib.shake_256(_SKETCH_SEED).digest(8 * SKETCH_BITS), dtype=">u4")
_MUL = _constants[:SKETCH_BITS].astype(np.uint32) | np.uint32(1)
_ADD = _constants[SKETCH_BITS:].astype(np.uint32)
_MIX = np.uint32(0x9E3779B1)  # spreads each minimum over the top bit, which becomes the sketch bit
_ROWS = 256  # shingles permuted at a time: bounds the temporary array to 1 MB for any article


def _identity(value: int) -> int:
    return value


def is_exact(bucket_key: int) -> bool:
    """Whether ``bucket_key`` is an exact (content hash) key rather than a band key."""
    return bucket_key >= EXACT_BIT


def exact_key(content: str) -> int:
    """The exact bucket of a ``content_hash``."""
    digest = hashlib.blake2b(content.encode("utf-8"), digest_size=8).digest()
    return EXACT_BIT | int.from_bytes(digest, "big")


def sketch(hashes: tuple[int, ...]) -> bytes:
    """``SKETCH_BITS`` one-bit MinHashes of a set of 32-bit hashes, packed (all zero if empty)."""
    if not hashes:
        return bytes(SKETCH_BYTES)
    values = np.fromiter(hashes, dtype=np.uint32, count=len(hashes))
    low = np.full(SKETCH_BITS, 0xFFFFFFFF, dtype=np.uint32)
    for start in range(0, len(values), _ROWS):
        permuted = values[start : start + _ROWS, None] * _MUL  # wraps: arithmetic mod 2^32
        permuted += _ADD
        np.minimum(low, permuted.min(axis=0), out=low)
    bits = (low * _MIX) >> np.uint32(31)
    return np.packbits(bits.astype(np.uint8)).tobytes()


def sketch_jaccard(a: int, b: int) -> float:
    """The Jaccard estimate of two sketches (as integers): agreement is (1 + J) / 2."""
    agree = SKETCH_BITS - (a ^ b).bit_count()
    return max(0.0, 2.0 * agree / SKETCH_BITS - 1.0)


@dataclass(frozen=True, slots=True)
class Signature:
    """What the detector derives from one article's text."""

    exact_key: int
    band_keys: tuple[int, ...]
    sketch: bytes
    size: int  # distinct shingles: containment is estimated from the sketch and both sizes
    shingles: tuple[int, ...] = ()  # the hashes themselves, for measurement; never stored

    @property
    def bucket_keys(self) -> tuple[int, ...]:
        """Every bucket the article is filed under: its exact key, then its bands."""
        return (self.exact_key, *self.band_keys)


class Signer:
    """Text -> exact key, LSH band keys and sketch."""

    def __init__(
        self,
        *,
        num_perm: int = NUM_PERM,
        bands: int = BANDS,
        shingle_size: int = SHINGLE_SIZE,
        seed: int = MINHASH_SEED,
    ) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm={num_perm} is not a multiple of bands={bands}")
        self.num_perm = num_perm
        self.bands = bands
        self.rows = num_perm // bands
        self.shingle_size = shingle_size
        self.seed = seed
        # Building permutations costs more than hashing a short article; do it once.
        self._permutations = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations

    def minhash(self, hashes: tuple[int, ...]) -> np.ndarray:
        sketch = MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            hashfunc=_identity,
            scheme="affine32",
            permutations=self._permutations,
        )
        sketch.update_batch(hashes)
        values: np.ndarray = sketch.hashvalues
        return values

    def band_keys(self, hashes: tuple[int, ...]) -> tuple[int, ...]:
        """One key per band: a digest of the band's index and its rows of the signature."""
        if not hashes:
            return ()
        values = self.minhash(hashes).astype(">u8")
        keys = []
        for band in range(self.bands):
            rows = values[band * self.rows : (band + 1) * self.rows].tobytes()
            digest = hashlib.blake2b(band.to_bytes(2, "big") + rows, digest_size=4).digest()
            keys.append(int.from_bytes(digest, "big"))
        return tuple(keys)

    def sign(self, article: Article) -> Signature:
        hashes = shingle_hashes(article.body, self.shingle_size)
        return Signature(
            exact_key=exact_key(article.content_hash or content_hash(article.body)),
            band_keys=self.band_keys(hashes),
            sketch=sketch(hashes),
            size=len(hashes),
            shingles=hashes,
        )


def bucket_partition(bucket_key: int, partitions: int) -> int:
    """The partition where every article filed under ``bucket_key`` meets the others."""
    return (bucket_key % EXACT_BIT) % partitions
