"""Host keys derived in Python must be keys OpenSSH agrees with (checked against ssh-keygen) and
the ones existing stacks already pinned."""

from __future__ import annotations

import base64
import struct
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from components.host_keys import host_key, known_hosts, node_host_key
from components.settings import Settings


def _fields(data: bytes, count: int, offset: int = 0) -> tuple[list[bytes], int]:
    values = []
    for _ in range(count):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        values.append(data[offset + 4:offset + 4 + length])
        offset += 4 + length
    return values, offset


def test_public_key_matches_what_ssh_keygen_made(tmp_path: Path) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    body = base64.b64decode("".join(key.read_text().strip().splitlines()[1:-1]))
    # Unencrypted openssh-key-v1: cipher, kdf, kdf options, key count, public blob, private part;
    # the private part: two check words, key type, public key, seed + public key, comment.
    _, offset = _fields(body, 3, len(b"openssh-key-v1\0"))
    (_, private), _ = _fields(body, 2, offset + 4)
    (_, _, secret_and_public), _ = _fields(private, 3, 8)
    # The same seed gives the public key ssh-keygen wrote beside it.
    assert host_key(secret_and_public[:32]).public.split() == (tmp_path / "key.pub").read_text().split()[:2]


def test_rendered_private_key_signs_for_its_public_key(tmp_path: Path) -> None:
    host_key = node_host_key("stack's ssh private key", "redis-ha", "redis-1")
    private = tmp_path / "host"
    private.write_text(host_key.private_openssh)
    private.chmod(0o600)
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == host_key.public.split()
    message = tmp_path / "message"
    message.write_text("pinned")
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(private), "-n", "test", str(message)], check=True)
    signers = tmp_path / "signers"
    signers.write_text(f"redis-1 {host_key.public}\n")
    verified = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", "redis-1", "-n", "test",
                               "-s", f"{message}.sig"], stdin=message.open(), capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr


PINNED_BEFORE = "AAAAC3NzaC1lZDI1NTE5AAAAIPXVdx/9zmqsVdctugi8slfHFABtSd4+yS24ylsG4+cd"


def test_the_keys_of_existing_stacks_stay_the_same() -> None:
    # Pinned by the hand-written Ed25519 arithmetic this replaced: the same seed must keep giving
    # the same key, or every existing node would present a key its stack no longer trusts.
    key = node_host_key("stack's ssh private key", "redis-ha", "redis-1")
    assert key.public == "ssh-ed25519 " + PINNED_BEFORE
    loaded = serialization.load_ssh_private_key(key.private_openssh.encode(), password=None)
    assert loaded.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH).decode() == key.public


def test_the_rendered_file_is_the_same_on_every_run() -> None:
    # cryptography draws the file's check word at random; a different file on every run would
    # rewrite the host key volume on every pulumi up.
    renderings = {node_host_key("key A", "redis-ha", "redis-1").private_openssh for _ in range(5)}
    assert len(renderings) == 1
    body = base64.b64decode("".join(renderings.pop().strip().splitlines()[1:-1]))
    _, offset = _fields(body, 3, len(b"openssh-key-v1\0"))
    (_, private), _ = _fields(body, 2, offset + 4)
    assert private[:4] == private[4:8]


def test_keys_are_stable_and_differ_per_node_and_stack() -> None:
    one = node_host_key("key A", "redis-ha", "redis-1")
    assert one == node_host_key("key A", "redis-ha", "redis-1")
    assert one.public != node_host_key("key A", "redis-ha", "redis-2").public
    assert one.public != node_host_key("key A", "other", "redis-1").public
    assert one.public != node_host_key("key B", "redis-ha", "redis-1").public


def test_the_ssh_keys_line_endings_and_wrapping_do_not_change_host_keys() -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----"
    same = [key + "\n", key.replace("\n", "\r\n"), key.replace("AAAA\nBBBB", "AAAABBBB")]
    assert {node_host_key(text, "redis-ha", "redis-1") for text in same} == {node_host_key(key, "redis-ha", "redis-1")}


def test_known_hosts_pins_each_address_to_its_node_key(settings: Settings) -> None:
    lines = known_hosts(settings).splitlines()
    assert lines == [f"{node.ip} {node_host_key(settings.ssh_private_key, settings.cluster_name, node.name).public}"
                     for node in settings.nodes]
