"""An article's dedup signature: exact key, MinHash LSH band keys and shingle hashes.

Pure and identical in every process (fixed MinHash seed, BLAKE2b band digests), because in the
worker the band keys decide which partition an article meets its copies in: two processes that
disagreed on a key would never bring a copy and its original together.
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
EXACT_PREFIX = "x:"


def _identity(value: int) -> int:
    return value


@dataclass(frozen=True, slots=True)
class Signature:
    """What the detector derives from one article's text."""

    exact_key: str
    band_keys: tuple[str, ...]
    shingles: tuple[int, ...]

    @property
    def bucket_keys(self) -> tuple[str, ...]:
        """Every bucket the article is filed under: its exact key, then its bands."""
        return (self.exact_key, *self.band_keys)


class Signer:
    """Text -> exact key, LSH band keys and shingle hashes."""

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

    def band_keys(self, hashes: tuple[int, ...]) -> tuple[str, ...]:
        """One key per band: band index plus a digest of that band's rows of the signature."""
        if not hashes:
            return ()
        values = self.minhash(hashes).astype(">u8")
        keys = []
        for band in range(self.bands):
            rows = values[band * self.rows : (band + 1) * self.rows].tobytes()
            keys.append(f"b{band}:{hashlib.blake2b(rows, digest_size=8).hexdigest()}")
        return tuple(keys)

    def sign(self, article: Article) -> Signature:
        hashes = shingle_hashes(article.body, self.shingle_size)
        exact = article.content_hash or content_hash(article.body)
        return Signature(
            exact_key=f"{EXACT_PREFIX}{exact}",
            band_keys=self.band_keys(hashes),
            shingles=hashes,
        )


def bucket_partition(bucket_key: str, partitions: int) -> int:
    """The partition where every article filed under ``bucket_key`` meets the others."""
    digest = hashlib.blake2b(bucket_key.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % partitions
