"""A throwaway certificate authority and a certificate for 127.0.0.1 it signed, so the bench can
serve the AWS emulator over HTTPS and measure what a TLS handshake costs a function's first
request (docs/src/performance.md: first request).

    python bench/tls_certs.py DIR   writes DIR/ca.pem, DIR/server.pem, DIR/server-key.pem and
                                    DIR/bundle.pem (the system's roots and the CA), for
                                    SSL_CERT_FILE

Uses `cryptography`, which the emulator (moto) already depends on.
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject, issuer, public_key, signing_key, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                               x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(signing_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def main(directory):
    os.makedirs(directory, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(name("hookline bench CA"), name("hookline bench CA"), ca_key.public_key(), ca_key, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate(name("127.0.0.1"), ca.subject, server_key.public_key(), ca_key, False)
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(pem(ca))
    with open(os.path.join(directory, "server.pem"), "wb") as f:
        f.write(pem(server))
    with open(os.path.join(directory, "server-key.pem"), "wb") as f:
        f.write(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    # The system's roots too, as a function's bundle has them: reading a full bundle is part of
    # its init.
    system = next((b for b in SYSTEM_BUNDLES if os.path.exists(b)), None)
    with open(os.path.join(directory, "bundle.pem"), "wb") as f:
        if system:
            with open(system, "rb") as roots:
                f.write(roots.read())
        f.write(pem(ca))


if __name__ == "__main__":
    main(sys.argv[1])
