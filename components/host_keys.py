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

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from components.settings import Node, Settings

_KEY_TYPE = b"ssh-ed25519"
_PEM_WIDTH = 70


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 private key (seed)."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


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
    # The file is laid out here rather than by cryptography's OpenSSH serializer, which draws its
    # check word at random: a new rendering on every run would change the nodes' user-data, and a
    # changed cloud-init disk replaces the VM. Any value both copies share will do; derived, it is
    # the same on every run (and the same as the keys of stacks made before).
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
