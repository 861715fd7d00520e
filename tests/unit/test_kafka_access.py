"""How a client reaches Kafka: settings read once and refused when incomplete, the security
options every producer, consumer and admin client is made with, and the ACL matrix that
docs/security.md shows."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prahari_events.acls import markdown, matrix
from prahari_events.errors import ConfigError
from prahari_events.kafka import KafkaAccess, Topics

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_plaintext_on_loopback_is_the_development_default() -> None:
    access = KafkaAccess.from_environ({})
    assert access == KafkaAccess("127.0.0.1:9092", "plaintext")
    assert access.options() == {"bootstrap_servers": "127.0.0.1:9092"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PRAHARI_KAFKA_SECURITY": "ssl"}, "plaintext or sasl_ssl"),
        (
            {"PRAHARI_KAFKA_SECURITY": "sasl_ssl"},
            "PRAHARI_KAFKA_USER, PRAHARI_KAFKA_PASSWORD_FILE, PRAHARI_KAFKA_CA",
        ),
        (
            {"PRAHARI_KAFKA_SECURITY": "sasl_ssl", "PRAHARI_KAFKA_USER": "notify",
             "PRAHARI_KAFKA_CA": "/x/ca.pem"},
            "needs PRAHARI_KAFKA_PASSWORD_FILE",
        ),
        (
            {"PRAHARI_KAFKA_SECURITY": "sasl_ssl", "PRAHARI_KAFKA_USER": "notify",
             "PRAHARI_KAFKA_PASSWORD_FILE": "/nonexistent/notify.password",
             "PRAHARI_KAFKA_CA": "/x/ca.pem"},
            "No such file",
        ),
    ],
)  # fmt: skip
def test_incomplete_security_settings_are_refused_by_name(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        KafkaAccess.from_environ(environ)


def test_sasl_ssl_authenticates_with_scram_over_tls_checking_the_brokers_name(
    tmp_path: Path,
) -> None:
    # A CA certificate the ssl module can load, made with the locked cryptography package.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    password = tmp_path / "notify.password"
    password.write_text("s3cret-from-a-file\n")
    access = KafkaAccess.from_environ(
        {
            "PRAHARI_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
            "PRAHARI_KAFKA_SECURITY": "sasl_ssl",
            "PRAHARI_KAFKA_USER": "notify",
            "PRAHARI_KAFKA_PASSWORD_FILE": str(password),
            "PRAHARI_KAFKA_CA": str(ca),
        }
    )
    options = access.options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "notify",
        "s3cret-from-a-file",
    )
    context: ssl.SSLContext = options["ssl_context"]
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert "s3cret" not in repr(access)


def test_a_sasl_ssl_access_without_its_parts_cannot_be_made() -> None:
    with pytest.raises(ConfigError):
        KafkaAccess("127.0.0.1:9092", "sasl_ssl", user="notify")


def test_the_acl_matrix_gives_each_service_its_own_topics_and_the_auditor_only_reads() -> None:
    topics = Topics()
    grants = {(g.principal, g.operations): g for g in matrix(topics)}
    assert topics.reports in grants["intake", ("Write",)].topics
    assert topics.reports not in grants["notify", ("Write",)].topics
    assert topics.reports in grants["cases", ("Read",)].topics
    assert [g.operations for g in matrix(topics) if g.principal == "audit"] == [
        ("Read", "Describe")
    ]
    # A test's own prefix is in every name, so its broker's ACLs cover only its topics.
    assert all(t.startswith("t1.") for g in matrix(Topics("t1.")) for t in g.topics)


def test_docs_security_shows_the_matrix_the_broker_is_given() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = text.split("<!-- kafka acls: begin -->\n")[1].split("<!-- kafka acls: end -->")[0]
    assert shown == markdown(Topics())
