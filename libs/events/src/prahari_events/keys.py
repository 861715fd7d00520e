"""Ed25519 keys as the services keep them: a private key in a PEM file readable by its
owner only, its public half raw (base64 in trust files), and a short id for each."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from prahari_events.errors import ConfigError


def load_signing_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"key {path} is not an Ed25519 private key")
    return key


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A key's id: the start of the SHA-256 of its public half."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """A new private key in `path`, made readable by its owner only before it is written."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(private_pem(key))
    return key


def trust_entry(key: Ed25519PrivateKey) -> dict[str, str]:
    """What a trust file lists for a key: its id and its public half (base64)."""
    return {"kid": key_id(key), "public_key": base64.b64encode(public_raw(key)).decode()}


def trusted_keys(entries: list[dict[str, str]]) -> dict[str, Ed25519PublicKey]:
    """A trust file's list of keys, by id (ValueError, KeyError or TypeError if malformed)."""
    return {
        e["kid"]: Ed25519PublicKey.from_public_bytes(base64.b64decode(e["public_key"]))
        for e in entries
    }
