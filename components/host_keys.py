"""The nodes' SSH host keys (pure): known before the VMs exist, so every connection can pin them.

Each node's Ed25519 host key is derived from the stack's SSH private key (a secret already) and
the node's identity, so the same stack always renders the same keys without storing new state
(this project has no random provider): the node's host key volume carries the private key, and
every SSH connection the program makes expects the public one instead of trusting whatever answers.
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


@dataclass(frozen=True)
class HostKey:
    private_openssh: str
    """The private key in OpenSSH's format, for the node's host key volume (a secret)."""
    public: str
    """``ssh-ed25519 <base64>``: what the server must present (known_hosts / hostKey)."""


_BEGIN, _END = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"


def _after_string(body: bytes, offset: int) -> int:
    (length,) = struct.unpack(">I", body[offset:offset + 4])
    return offset + 4 + int(length)


def _check_word_offset(body: bytes) -> int:
    """Where the private part's two check words start in an unencrypted openssh-key-v1 body."""
    offset = len(b"openssh-key-v1\0")
    for _cipher_kdf_and_its_options in range(3):
        offset = _after_string(body, offset)
    offset = _after_string(body, offset + 4)  # the key count (1), then the public key blob
    return offset + 4  # past the private part's length


def host_key(seed: bytes) -> HostKey:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    lines = pem.strip().splitlines()
    body = bytearray(base64.b64decode("".join(lines[1:-1])))
    # cryptography draws the check word at random; a new rendering on every run would rewrite the
    # host key volume (and update its step) on every `pulumi up`. Any value both copies share will
    # do (ssh only compares them); derived from the seed, it is the same on every run.
    at = _check_word_offset(bytes(body))
    if body[at:at + 4] != body[at + 4:at + 8]:
        raise ValueError("cryptography's OpenSSH private key is not laid out as openssh-key-v1 without a cipher")
    body[at:at + 8] = hashlib.sha256(b"check" + seed).digest()[:4] * 2
    encoded = base64.b64encode(bytes(body)).decode()
    width = len(lines[1])
    wrapped = [encoded[i:i + width] for i in range(0, len(encoded), width)]
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return HostKey(private_openssh="\n".join([_BEGIN, *wrapped, _END]) + "\n", public=public.decode())


def node_host_key(ssh_private_key: str, cluster_name: str, node_name: str) -> HostKey:
    # Whitespace does not count: the same key set again with another line ending, wrapping or
    # final newline must not give the nodes new host keys (new seeds, new VMs).
    key_text = "".join(ssh_private_key.split())
    seed = hmac.new(key_text.encode(), f"redis-ha host key {cluster_name}/{node_name}".encode(),
                    hashlib.sha256).digest()
    return host_key(seed)


def host_key_of(settings: Settings, node: Node) -> HostKey:
    """The host key the program gives this node of this stack."""
    return node_host_key(settings.ssh_private_key, settings.cluster_name, node.name)


def known_hosts(settings: Settings) -> str:
    """known_hosts lines pinning each node's address to its host key, for OpenSSH clients."""
    return "".join(f"{node.ip} {host_key_of(settings, node).public}\n" for node in settings.nodes)
