"""The lab's certificate authority and the certificates of every component.

One CA per lab; every component authenticates with its own client certificate (the CN
is the user, the O the groups, as Kubernetes reads them), the apiserver and the kubelets
serve with certificates naming their addresses. Keys are ECDSA P-256. `ensure` is
idempotent: it only writes what is missing or no longer matches (e.g. a changed address).
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)


@dataclass
class CertSpec:
    """One certificate to issue: file stem, subject, usages and SANs."""
    stem: str
    common_name: str
    organizations: list[str] = field(default_factory=list)
    server: bool = False
    client: bool = True
    dns_names: list[str] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)


def lab_cert_specs(master_name: str, master_ip: str, nodes: dict[str, str],
                   kubernetes_service_ip: str = "10.96.0.1") -> list[CertSpec]:
    """Every certificate a lab needs, given the master and the nodes {name: ip}."""
    specs = [
        CertSpec("apiserver", "kube-apiserver", server=True, client=False,
                 dns_names=["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                            "kubernetes.default.svc.cluster.local", "localhost", master_name],
                 ip_addresses=[master_ip, kubernetes_service_ip, "127.0.0.1"]),
        CertSpec("admin", "kubernetes-admin", ["system:masters"]),
        CertSpec("controller-manager", "system:kube-controller-manager"),
        CertSpec("scheduler", "system:kube-scheduler"),
        CertSpec("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]),
        # the metrics-server: served behind the kube-system/metrics-server Service (the apiserver's
        # aggregator checks that name), and its own client certificate for the apiserver and kubelets
        CertSpec("metrics-server", "metrics-server", server=True, client=False,
                 dns_names=["metrics-server.kube-system.svc", "metrics-server.kube-system.svc.cluster.local"],
                 ip_addresses=[master_ip, "127.0.0.1"]),
        CertSpec("metrics-server-client", "system:metrics-server"),
    ]
    for name, ip in nodes.items():
        specs.append(CertSpec(f"kubelet-{name}", f"system:node:{name}", ["system:nodes"]))
        specs.append(CertSpec(f"kubelet-serving-{name}", f"system:node:{name}", ["system:nodes"],
                              server=True, client=False, dns_names=[name], ip_addresses=[ip]))
    return specs


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def _name(cn: str, orgs: list[str] | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs or []]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ensure_ca(pki: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    crt, key = pki / "ca.crt", pki / "ca.key"
    if crt.exists() and key.exists():
        return (x509.load_pem_x509_certificate(crt.read_bytes()),
                serialization.load_pem_private_key(key.read_bytes(), None), False)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = _name("labctl-ca")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + 10 * VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(key, ca_key)
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, ca_key, True


def _matches(path: Path, spec: CertSpec, ca: x509.Certificate) -> bool:
    """Whether an existing certificate was issued by this CA for exactly this spec."""
    if not path.exists() or not path.with_suffix(".key").exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject or cert.subject != _name(spec.common_name, spec.organizations):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = (sorted(san.get_values_for_type(x509.DNSName)),
                sorted(str(i) for i in san.get_values_for_type(x509.IPAddress)))
    except x509.ExtensionNotFound:
        have = ([], [])
    return have == (sorted(spec.dns_names), sorted(spec.ip_addresses))


def _issue(pki: Path, spec: CertSpec, ca: x509.Certificate, ca_key) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []) + \
             ([ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else [])
    builder = (x509.CertificateBuilder().subject_name(_name(spec.common_name, spec.organizations))
               .issuer_name(ca.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if spec.dns_names or spec.ip_addresses:
        sans = [x509.DNSName(d) for d in spec.dns_names] + \
               [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(pki / f"{spec.stem}.key", key)
    (pki / f"{spec.stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure(pki_dir: Path, specs: list[CertSpec]) -> list[str]:
    """Create the CA and every certificate that is missing or stale; return what was written."""
    pki = Path(pki_dir)
    pki.mkdir(parents=True, exist_ok=True)
    ca, ca_key, new_ca = _ensure_ca(pki)
    written = ["ca"] if new_ca else []
    for spec in specs:
        if new_ca or not _matches(pki / f"{spec.stem}.crt", spec, ca):
            _issue(pki, spec, ca, ca_key)
            written.append(spec.stem)
    return written
