"""served_chain: the apiserver's serving chain is built once from the client CA file, and sends the
same Certificate message as OpenSSL's own chain building in each handshake did (compared byte for
byte in TLS 1.2, where that message is in the clear), for several PKI layouts; where it cannot tell
the chain, OpenSSL still builds it."""
import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkube.apiserver.tls import served_chain, server_context

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(cn, key, issuer=None, issuer_key=None, ca=False, cert_sign=True, server=False):
    issuer_name = _name(cn) if issuer is None else issuer.subject
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(hours=1))
         .not_valid_after(NOW + datetime.timedelta(days=1)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        if not cert_sign:
            b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, True, False, False), True)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def _pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def layout(kind, d):
    """Write server.crt (as the layout has it), server.key, ca.crt (the client CA file) into d;
    the expected served chain (certificates) or None (left to OpenSSL)."""
    root_key, inter_key, leaf_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    root = _cert("lab-ca", root_key, ca=True)
    inter = _cert("lab-intermediate", inter_key, root, root_key, ca=True)
    if kind == "one-ca":
        leaf = _cert("kube-apiserver", leaf_key, root, root_key, server=True)
        files, want = (_pem(leaf), _pem(root)), [leaf, root]
    elif kind == "intermediate":
        leaf = _cert("kube-apiserver", leaf_key, inter, inter_key, server=True)
        files, want = (_pem(leaf), _pem(root, inter)), [leaf, inter, root]
    elif kind == "intermediate-only-in-file":      # the root is not there: OpenSSL stops at inter
        leaf = _cert("kube-apiserver", leaf_key, inter, inter_key, server=True)
        files, want = (_pem(leaf), _pem(inter)), None
    elif kind == "chain-in-cert-file":
        leaf = _cert("kube-apiserver", leaf_key, root, root_key, server=True)
        files, want = (_pem(leaf, root), _pem(root)), None
    elif kind == "other-ca":                       # the server's issuer is not a client CA
        other = _cert("other-ca", other_key, ca=True)
        leaf = _cert("kube-apiserver", leaf_key, other, other_key, server=True)
        files, want = (_pem(leaf), _pem(root)), None
    elif kind == "renewed-ca":                     # two CAs of one name (the second signed it):
        renewed = _cert("lab-ca", other_key, ca=True)   # OpenSSL picks one by its own rules
        leaf = _cert("kube-apiserver", leaf_key, renewed, other_key, server=True)
        files, want = (_pem(leaf), _pem(root, renewed)), None
    elif kind == "ca-without-cert-sign":           # key usage without keyCertSign: not an issuer
        nosign = _cert("lab-ca", other_key, ca=True, cert_sign=False)
        leaf = _cert("kube-apiserver", leaf_key, nosign, other_key, server=True)
        files, want = (_pem(leaf), _pem(nosign)), None
    elif kind == "self-signed":
        leaf = _cert("kube-apiserver", leaf_key, server=True)
        files, want = (_pem(leaf), _pem(root)), None
    (d / "server.crt").write_bytes(files[0])
    (d / "ca.crt").write_bytes(files[1])
    (d / "server.key").write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return want


def earlier_context(d) -> ssl.SSLContext:
    """The serving context as it was built: the certificate file loaded as it is."""
    ctx = server_context(str(d / "server.crt"), str(d / "server.key"), str(d / "ca.crt"))
    ctx.load_cert_chain(str(d / "server.crt"), str(d / "server.key"))
    return ctx


def certificate_message(sctx: ssl.SSLContext) -> bytes:
    """The server's Certificate handshake message of a TLS 1.2 handshake (in the clear)."""
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname, cctx.verify_mode = False, ssl.CERT_NONE
    cctx.maximum_version = ssl.TLSVersion.TLSv1_2
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    srv = sctx.wrap_bio(s_in, s_out, server_side=True)
    cli = cctx.wrap_bio(c_in, c_out)
    with pytest.raises(ssl.SSLWantReadError):
        cli.do_handshake()
    s_in.write(c_out.read())
    with pytest.raises(ssl.SSLWantReadError):
        srv.do_handshake()
    flight = s_out.read()
    records, pos = b"", 0
    while pos < len(flight):                       # TLS records: type, version, length, payload
        kind, length = flight[pos], int.from_bytes(flight[pos + 3:pos + 5], "big")
        if kind == 22:
            records += flight[pos + 5:pos + 5 + length]
        pos += 5 + length
    pos = 0
    while pos < len(records):                      # handshake messages: type, 3-byte length, body
        kind, length = records[pos], int.from_bytes(records[pos + 1:pos + 4], "big")
        if kind == 11:
            return records[pos:pos + 4 + length]
        pos += 4 + length
    raise AssertionError("no Certificate message")


LAYOUTS = ["one-ca", "intermediate", "intermediate-only-in-file", "chain-in-cert-file", "other-ca",
           "renewed-ca", "ca-without-cert-sign", "self-signed"]


@pytest.mark.parametrize("kind", LAYOUTS)
def test_served_chain_is_what_openssl_built(tmp_path, kind):
    want = layout(kind, tmp_path)
    got = served_chain(str(tmp_path / "server.crt"), str(tmp_path / "ca.crt"))
    assert got == (None if want is None else _pem(*want))
    now = server_context(str(tmp_path / "server.crt"), str(tmp_path / "server.key"), str(tmp_path / "ca.crt"))
    assert certificate_message(now) == certificate_message(earlier_context(tmp_path))
    if want is not None:                           # every certificate of the chain is in the message
        msg = certificate_message(now)
        assert all(c.public_bytes(serialization.Encoding.DER) in msg for c in want)


def test_unreadable_files_are_left_to_openssl(tmp_path):
    layout("one-ca", tmp_path)
    (tmp_path / "junk.crt").write_bytes(b"not a certificate")
    assert served_chain(str(tmp_path / "junk.crt"), str(tmp_path / "ca.crt")) is None
    assert served_chain(str(tmp_path / "server.crt"), str(tmp_path / "junk.crt")) is None
    assert served_chain(str(tmp_path / "missing.crt"), str(tmp_path / "ca.crt")) is None
