"""The lab PKI: who each certificate says it is, and that re-running changes nothing."""
import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labctl import pki

NODES = {"m-k8s": "10.200.0.10", "w1-k8s": "10.200.0.11"}


def load(d, stem):
    return x509.load_pem_x509_certificate((d / f"{stem}.crt").read_bytes())


@pytest.fixture
def pki_dir(tmp_path):
    pki.ensure(tmp_path, pki.lab_cert_specs("m-k8s", "10.200.0.10", NODES))
    return tmp_path


@pytest.mark.parametrize("stem, cn, orgs", [
    ("admin", "kubernetes-admin", ["system:masters"]),
    ("controller-manager", "system:kube-controller-manager", []),
    ("scheduler", "system:kube-scheduler", []),
    ("kubelet-w1-k8s", "system:node:w1-k8s", ["system:nodes"]),
    ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]),
    ("metrics-server-client", "system:metrics-server", []),
])
def test_client_certificates_name_user_and_groups(pki_dir, stem, cn, orgs):
    cert = load(pki_dir, stem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage


def test_apiserver_serves_every_name_clients_use(pki_dir):
    san = load(pki_dir, "apiserver").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kubernetes.default.svc.cluster.local", "localhost", "m-k8s"} <= set(san.get_values_for_type(x509.DNSName))
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address(i) for i in ("10.200.0.10", "10.96.0.1", "127.0.0.1")} <= ips


def test_metrics_server_serves_its_service_name(pki_dir):
    san = load(pki_dir, "metrics-server").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "metrics-server.kube-system.svc" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("10.200.0.10") in san.get_values_for_type(x509.IPAddress)


def test_every_certificate_is_signed_by_the_lab_ca(pki_dir):
    ca = load(pki_dir, "ca")
    for crt in pki_dir.glob("*.crt"):
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        cert.verify_directly_issued_by(ca)
    assert (pki_dir / "ca.key").stat().st_mode & 0o077 == 0


def test_second_run_writes_nothing(pki_dir):
    assert pki.ensure(pki_dir, pki.lab_cert_specs("m-k8s", "10.200.0.10", NODES)) == []


def test_changed_address_reissues_only_what_names_it(pki_dir):
    moved = dict(NODES, **{"w1-k8s": "10.200.0.21"})
    assert pki.ensure(pki_dir, pki.lab_cert_specs("m-k8s", "10.200.0.10", moved)) == ["kubelet-serving-w1-k8s"]
