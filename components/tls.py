"""The stack's TLS material (pure): a CA, a certificate per node and one for applications.

Derived, like the SSH host keys, from the stack's SSH private key and the cluster's name, so
every run renders the same bytes without storing new state (this project has no random or TLS
provider, and a key that changed on every run would re-run every step that carries it): the
private keys are P-256 scalars from HMAC-SHA512, the certificates have fixed validity dates,
serial numbers from the same hash, and deterministic ECDSA signatures (RFC 6979). Whoever
holds the SSH private key is root on the nodes and can read Redis's data anyway; nobody else
can compute these keys. The CA's key never leaves the program; the nodes get their own
certificate and key and the CA certificate, the stack's outputs the CA certificate and, with
client authentication, the application's certificate and key (secret).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.settings import Node, Settings

# Where the nodes keep the files (redis_clients.sh writes them; redis.conf and redis-ha-cli read them).
TLS_DIR = "/etc/redis-ha/tls"
CA_FILE = f"{TLS_DIR}/ca.crt"
CERT_FILE = f"{TLS_DIR}/server.crt"
KEY_FILE = f"{TLS_DIR}/server.key"

# Fixed, so that a certificate rendered again is byte for byte the one the nodes have. A new
# stack gets certificates valid from before it existed, which no client minds.
NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
CA_NOT_AFTER = datetime(2046, 1, 1, tzinfo=UTC)
LEAF_NOT_AFTER = datetime(2036, 1, 1, tzinfo=UTC)

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
APPLICATION = "application"


@dataclass(frozen=True)
class Credentials:
    certificate: str
    """PEM."""
    key: str = field(repr=False)
    """PKCS#8 PEM, unencrypted: a secret."""


@dataclass(frozen=True)
class TlsMaterial:
    ca_certificate: str
    """PEM: what clients trust (a stack output)."""
    nodes: dict[str, Credentials]
    """Per node name: the server certificate (node name, node address and VIP) and its key.
    Also the client certificate of the node's replication link and redis-ha-cli."""
    application: Credentials
    """The applications' client certificate, for tlsClientAuth optional or required."""


def _digest(settings: Settings, label: str) -> bytes:
    return hmac.new(settings.ssh_private_key.encode(), f"redis-ha tls/{settings.cluster_name}/{label}".encode(),
                    hashlib.sha512).digest()


def _private_key(settings: Settings, label: str) -> ec.EllipticCurvePrivateKey:
    # 512 bits reduced modulo a 256-bit order: the bias is far below anything measurable.
    scalar = int.from_bytes(_digest(settings, f"key/{label}"), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _serial(settings: Settings, label: str) -> int:
    # Positive and at most 20 octets, as RFC 5280 asks.
    return int.from_bytes(_digest(settings, f"serial/{label}")[:19], "big") | 1


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _name(common_name: str, cluster_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"redis-ha {cluster_name}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _leaf(settings: Settings, holder: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
          usages: list[x509.ObjectIdentifier], names: list[x509.GeneralName]) -> Credentials:
    # Rotation 0 is what stacks had before rotations existed.
    label = holder if settings.tls_rotation == 0 else f"{holder}/rotation-{settings.tls_rotation}"
    key = _private_key(settings, label)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(holder, settings.cluster_name))
               .issuer_name(ca.subject)
               .public_key(key.public_key())
               .serial_number(_serial(settings, label))
               .not_valid_before(NOT_BEFORE)
               .not_valid_after(LEAF_NOT_AFTER)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                            data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    return Credentials(_pem(certificate), _key_pem(key))


def _node_names(settings: Settings, node: Node) -> list[x509.GeneralName]:
    return [x509.DNSName(node.name), x509.IPAddress(ipaddress.IPv4Address(node.ip)),
            x509.IPAddress(ipaddress.IPv4Address(settings.vip))]


@cache
def tls_material(settings: Settings) -> TlsMaterial:
    ca_key = _private_key(settings, "ca")
    ca_name = _name(f"redis-ha {settings.cluster_name} CA", settings.cluster_name)
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name)
          .issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(_serial(settings, "ca"))
          .not_valid_before(NOT_BEFORE)
          .not_valid_after(CA_NOT_AFTER)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_encipherment=False, content_commitment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True))
    # A node's certificate serves clients and, on the replica, authenticates its link to the master.
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    nodes = {node.name: _leaf(settings, node.name, ca, ca_key, both, _node_names(settings, node))
             for node in settings.nodes}
    application = _leaf(settings, APPLICATION, ca, ca_key, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    return TlsMaterial(_pem(ca), nodes, application)


def node_bundle(settings: Settings, node: Node) -> str:
    """What redis_clients.sh reads on stdin: the node's key, its certificate, the CA certificate."""
    material = tls_material(settings)
    own = material.nodes[node.name]
    return own.key + own.certificate + material.ca_certificate


def client_options(settings: Settings, certificate_files: tuple[str, str] | None = None) -> dict[str, Any]:
    """redis-py's keyword arguments to reach the stack's Redis (VIP or node address), verifying
    the server against the stack's CA; with ``certificate_files`` (the application's certificate
    and key, as files), presenting them. Nothing with tls off."""
    if not settings.tls:
        return {}
    options: dict[str, Any] = {"ssl": True, "ssl_ca_data": tls_material(settings).ca_certificate,
                               "ssl_cert_reqs": "required", "ssl_check_hostname": True}
    if certificate_files is not None:
        options |= {"ssl_certfile": certificate_files[0], "ssl_keyfile": certificate_files[1]}
    return options
