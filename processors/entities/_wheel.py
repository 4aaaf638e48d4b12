"""Zip a ``spacy package --build none`` directory into an installable wheel.

Why not ``spacy package --build wheel``: in spaCy 3.8 it shells out to ``python -m build``, a
package wirehose does not otherwise need, and the build would fetch setuptools from the network.
A model package is pure data plus a two-function ``__init__.py``, so writing the wheel format
(PEP 427: files, ``*.dist-info`` with METADATA, WHEEL, entry points and RECORD) is short and
works offline. The ``spacy_models`` entry point is the one ``spacy package``'s setup.py declares,
so ``spacy validate`` and ``spacy info`` see the model like any other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

# A fixed timestamp makes the wheel byte-for-byte reproducible from the same input.
_EPOCH = (2023, 6, 26, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(package_dir: Path, out_dir: Path) -> Path:
    """Build ``<name>-<version>-py3-none-any.whl`` in ``out_dir`` from a spacy package directory.

    ``package_dir`` holds ``meta.json`` and the package ``<lang>_<name>/`` with ``__init__.py``
    and the data directory ``<lang>_<name>-<version>/``, as ``spacy package`` lays them out.
    """
    meta = json.loads((package_dir / "meta.json").read_text(encoding="utf-8"))
    name = f"{meta['lang']}_{meta['name']}"
    version = str(meta["version"])
    package = package_dir / name
    if not (package / "__init__.py").is_file():
        raise FileNotFoundError(f"{package}/__init__.py missing: not a spacy package directory")
    meta_bytes = (package_dir / "meta.json").read_bytes()
    files: list[tuple[str, bytes]] = []
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        if path.name.startswith(".") or "__pycache__" in path.parts:
            continue
        files.append((path.relative_to(package_dir).as_posix(), path.read_bytes()))
    # setup.py copies meta.json next to __init__.py (get_model_meta reads it) and into the data.
    for arcname in (f"{name}/meta.json", f"{name}/{name}-{version}/meta.json"):
        files = [(a, d) for a, d in files if a != arcname] + [(arcname, meta_bytes)]
    dist_info = f"{name}-{version}.dist-info"
    files += [
        (f"{dist_info}/METADATA", _metadata(meta, name, version).encode("utf-8")),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: wirehose\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{dist_info}/entry_points.txt", f"[spacy_models]\n{name} = {name}\n".encode()),
        (f"{dist_info}/top_level.txt", f"{name}\n".encode()),
    ]
    licence = package_dir / "LICENSE"
    if licence.is_file():
        files.append((f"{dist_info}/LICENSE", licence.read_bytes()))
    record = "".join(f"{a},{_record_hash(d)},{len(d)}\n" for a, d in files)
    record += f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode("utf-8")))

    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel


def _metadata(meta: dict[str, object], name: str, version: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {meta.get('description', '')}",
        f"Author: {meta.get('author', '')}",
        f"License: {meta.get('license', '')}",
    ]
    # No Requires-Dist on spacy on purpose (--no-require-parent): the venv's spaCy 3.8 must not be
    # downgraded to the 3.6 range the model was trained with.
    return "\n".join(lines) + "\n"
