"""TLS verification stays on: a server whose certificate does not verify gets no request."""

import http.server
import ssl
import subprocess
import threading

import pytest

from xl_fastmoss import CertificateError, FastMossClient, Settings


@pytest.fixture
def self_signed_server(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    requests_seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            requests_seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", requests_seen
    server.shutdown()


def test_an_unverifiable_certificate_is_refused_and_the_key_never_sent(self_signed_server):
    url, seen = self_signed_server
    settings = Settings.load(base_url=url, api_key="sk-must-not-leak", retry_backoff=0.01)
    with FastMossClient(settings) as client, pytest.raises(CertificateError, match="could not be verified"):
        client.most_promoted("US", 14, "day", "2026-04-01")
    assert seen == []
    assert client.session.verify is True
