"""Ingress as a course uses it, on a real netns lab with the real kubectl: two Deployments behind
Services, one Ingress made by `kubectl create ingress` with host, wildcard, Exact and Prefix rules
and TLS from a Secret made by `kubectl create secret tls`; requests from the host to the nodes'
lab addresses (ports 80 and 443, with Host headers and SNI) reach each backend, an unknown host
gets 404, `kubectl get ingress` shows the class and the ADDRESS, and a deleted Ingress stops
routing. Traffic goes only to the lab's own addresses."""
import datetime
import http.client
import socket
import ssl

import pytest

from labtools import get_json, kubectl, wait_for

SLOW = 240
NODES = ["10.200.0.10", "10.200.0.11", "10.200.0.12"]        # inventories/local: master, w1, w2
PAGES = "mkdir -p /www/posts && for f in index.html posts/1 about; do echo $APP $(hostname) > /www/$f; done; " \
        "exec httpd -f -p 80 -h /www"


def get(node, host, path="/"):
    """(status, body) of GET http://node/path with the given Host header; None when refused."""
    conn = http.client.HTTPConnection(node, 80, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read().decode()
    except OSError:
        return None
    finally:
        conn.close()


def app_of(answer):
    """The backend's app name from a page it served (None when it was not a 200)."""
    return answer[1].split()[0] if answer and answer[0] == 200 else None


def self_signed(host):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def get_tls(node, host, cafile):
    """The page of https://host/ fetched from node:443 with SNI host, the certificate checked
    against cafile; None while the handshake or the check fails."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((node, 443), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
        head, _, body = data.decode().partition("\r\n\r\n")
        return head.split("\r\n")[0], body
    except (OSError, ssl.SSLError):
        return None


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    for app in ("shop", "blog"):
        kubectl("create", "deployment", app, "--image=busybox", "--replicas=2", "--port=80", "--",
                "sh", "-c", PAGES.replace("$APP", app), env=lab)
        kubectl("expose", "deployment", app, "--port=8080", "--target-port=80", env=lab)
    certs = tmp_path_factory.mktemp("tls")
    cert, key = self_signed("secure.lab")
    (certs / "tls.crt").write_bytes(cert)
    (certs / "tls.key").write_bytes(key)
    kubectl("create", "secret", "tls", "lab-tls", f"--cert={certs / 'tls.crt'}", f"--key={certs / 'tls.key'}", env=lab)
    kubectl("create", "ingress", "lab",
            "--rule=shop.lab/*=shop:8080",              # Prefix /
            "--rule=blog.lab/posts*=blog:8080",         # Prefix /posts
            "--rule=blog.lab/about=shop:8080",          # Exact /about
            "--rule=*.wild.lab/*=blog:8080",            # one label under wild.lab
            "--rule=secure.lab/*=blog:8080,tls=lab-tls", env=lab)
    for app in ("shop", "blog"):
        kubectl("rollout", "status", f"deployment/{app}", "--timeout=240s", env=lab, timeout=SLOW)
    yield {**lab, "CAFILE": str(certs / "tls.crt")}
    kubectl("delete", "ingress/lab", "secret/lab-tls", "service/shop", "service/blog", "deployment/shop",
            "deployment/blog", "--ignore-not-found", env=lab)


@pytest.mark.parametrize("host, path, app", [
    ("shop.lab", "/", "shop"),
    ("shop.lab", "/posts/1", "shop"),
    ("blog.lab", "/posts/1", "blog"),           # Prefix /posts
    ("blog.lab", "/about", "shop"),             # Exact /about
    ("a.wild.lab", "/about", "blog"),           # the wildcard host
])
def test_each_host_and_path_reaches_its_backend(site, host, path, app):
    got = wait_for(f"{host}{path} served by {app}", lambda: app_of(get("10.200.0.11", host, path)) == app, SLOW)
    assert got
    for node in NODES:                           # every node serves it
        assert app_of(get(node, host, path)) == app, node


@pytest.mark.parametrize("host, path", [
    ("unknown.lab", "/"),                        # no rule for the host, no default backend
    ("blog.lab", "/postsX"),                     # /posts is a prefix by elements only
    ("blog.lab", "/about/more"),                 # /about is Exact
    ("b.a.wild.lab", "/"),                       # the wildcard covers one label only
])
def test_what_no_rule_matches_is_404(site, host, path):
    wait_for("the Ingress served", lambda: app_of(get("10.200.0.11", "shop.lab")) == "shop", SLOW)
    status, body = get("10.200.0.11", host, path)
    assert status == 404 and "default backend - 404" in body, (status, body)


def test_requests_take_turns_over_the_pods(site):
    wait_for("shop.lab served", lambda: app_of(get("10.200.0.12", "shop.lab")) == "shop", SLOW)
    pods = {get("10.200.0.12", "shop.lab")[1].split()[1] for _ in range(6)}
    assert len(pods) == 2, pods


def test_tls_with_the_certificate_of_the_secret(site):
    status, body = wait_for("https://secure.lab", lambda: get_tls("10.200.0.11", "secure.lab", site["CAFILE"]), SLOW)
    assert status.startswith("HTTP/1.1 200") and body.startswith("blog "), (status, body)
    # another name gets the controller's own certificate, which the Secret's CA does not sign
    assert get_tls("10.200.0.11", "shop.lab", site["CAFILE"]) is None


def test_kubectl_shows_the_class_and_the_addresses(site):
    ing = wait_for("the Ingress's addresses", lambda: (
        i := get_json("ingress", "lab", env=site)).get("status", {}).get("loadBalancer", {}).get("ingress") and i, SLOW)
    assert [a["ip"] for a in ing["status"]["loadBalancer"]["ingress"]] == NODES
    assert ing["spec"]["ingressClassName"] == "labkube"
    table = kubectl("get", "ingress", "lab", env=site).stdout.splitlines()
    assert table[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], table
    assert table[1].split()[:2] == ["lab", "labkube"] and ",".join(NODES) in table[1] and "80, 443" in table[1], table
    described = kubectl("describe", "ingress", "lab", env=site).stdout
    assert "Address:" in described and "10.200.0.11" in described and "lab-tls terminates secure.lab" in described
    classes = kubectl("get", "ingressclass", env=site).stdout
    assert "labkube" in classes and "labkube.io/ingress" in classes, classes


def test_deleting_the_ingress_stops_routing(site):
    wait_for("shop.lab served", lambda: app_of(get("10.200.0.11", "shop.lab")) == "shop", SLOW)
    kubectl("delete", "ingress", "lab", env=site)
    wait_for("shop.lab no longer routed", lambda: (get("10.200.0.11", "shop.lab") or (0,))[0] == 404, 60)
    assert get("10.200.0.10", "shop.lab")[0] == 404
