"""The nodes' SSH host keys (pure): known before the VMs exist, so every connection can pin them.

Each node's Ed25519 host key is derived from the stack's SSH private key (a secret already) and
the node's identity, so the same stack always renders the same keys without storing new state
(this project has no random or TLS provider): cloud-init installs the private key, and every
SSH connection the program makes expects the public one instead of trusting whatever answers.
Whoever holds the SSH private key can log in to the nodes as root anyway, so deriving from it
gives nobody a capability they lack.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from components.settings import Node, Settings

# Edwards25519 (RFC 8032, section 5.1): field prime, curve constant, base point.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_BASE_Y = 4 * pow(5, _P - 2, _P) % _P
_SQRT_MINUS_ONE = pow(2, (_P - 1) // 4, _P)

_KEY_TYPE = b"ssh-ed25519"
_PEM_WIDTH = 70


def _recover_x(y: int) -> int:
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * _SQRT_MINUS_ONE % _P
    return x if x % 2 == 0 else _P - x


_Point = tuple[int, int, int, int]
"""Extended homogeneous coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z."""

_BASE: _Point = (_recover_x(_BASE_Y), _BASE_Y, 1, _recover_x(_BASE_Y) * _BASE_Y % _P)


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    p = (y1 - x1) * (y2 - x2) % _P
    q = (y1 + x1) * (y2 + x2) % _P
    r = 2 * t1 * t2 * _D % _P
    s = 2 * z1 * z2 % _P
    e, f, g, h = q - p, s - r, s + r, q + p
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 private key (seed)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    x, y, z, _ = _multiply(scalar, _BASE)
    z_inverse = pow(z, _P - 2, _P)
    x, y = x * z_inverse % _P, y * z_inverse % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@dataclass(frozen=True)
class HostKey:
    private_openssh: str
    """The private key in OpenSSH's format, for cloud-init's ssh_keys (a secret)."""
    public: str
    """``ssh-ed25519 <base64>``: what the server must present (known_hosts / hostKey)."""


def host_key(seed: bytes, comment: str) -> HostKey:
    public = ed25519_public_key(seed)
    public_blob = _ssh_string(_KEY_TYPE) + _ssh_string(public)
    # Any value both copies share; derived so that the rendering is the same on every run.
    check = hashlib.sha256(b"check" + seed).digest()[:4]
    private = (check + check + _ssh_string(_KEY_TYPE) + _ssh_string(public) + _ssh_string(seed + public)
               + _ssh_string(comment.encode()))
    private += bytes(range(1, 1 + (-len(private) % 8)))
    body = (b"openssh-key-v1\0" + _ssh_string(b"none") + _ssh_string(b"none") + _ssh_string(b"")
            + struct.pack(">I", 1) + _ssh_string(public_blob) + _ssh_string(private))
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i:i + _PEM_WIDTH] for i in range(0, len(encoded), _PEM_WIDTH)]
    pem = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----"]) + "\n"
    return HostKey(private_openssh=pem, public=f"{_KEY_TYPE.decode()} {base64.b64encode(public_blob).decode()}")


def node_host_key(ssh_private_key: str, cluster_name: str, node_name: str) -> HostKey:
    # Whitespace does not count: the same key set again with another line ending, wrapping or
    # final newline must not give the nodes new host keys (new seeds, new VMs).
    key_text = "".join(ssh_private_key.split())
    seed = hmac.new(key_text.encode(), f"redis-ha host key {cluster_name}/{node_name}".encode(),
                    hashlib.sha256).digest()
    return host_key(seed, f"{node_name}@{cluster_name}")


def host_key_of(settings: Settings, node: Node) -> HostKey:
    """The host key the program gives this node of this stack."""
    return node_host_key(settings.ssh_private_key, settings.cluster_name, node.name)


def known_hosts(settings: Settings) -> str:
    """known_hosts lines pinning each node's address to its host key, for OpenSSH clients."""
    return "".join(f"{node.ip} {host_key_of(settings, node).public}\n" for node in settings.nodes)
