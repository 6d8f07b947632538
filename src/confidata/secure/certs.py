"""Certificates for the parties' TLS links: one CA, and one key and certificate per party.

Made with the ``openssl`` command line (the ``cryptography`` package is not a dependency). Each
party's certificate carries its study name as a DNS subject-alternative name, which the other
parties check, and ``MPyC party <i>`` as common name; the files are named as MPyC's own
``--ssl`` expects in its ``.config`` folder (``mpyc_ca.crt``, ``party_<i>.crt``,
``party_<i>.key``), so the folder also serves MPyC's demos. Private keys are written with mode
0600 and are never replaced without ``overwrite``. In a real study each party makes its own key
and sends only a signing request; this command is the quick path for a trusted coordinator or a
test.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from confidata.errors import ConfidataError, OutputExistsError
from confidata.secure.study import Study

__all__ = ["make_certificates", "tls_context"]

DAYS = 825


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise ConfidataError("The 'openssl' program is needed to make certificates; install OpenSSL.")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfidataError(f"openssl {args[0]} failed: {proc.stderr.strip()[:300]}")


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def make_certificates(
    study: Study, folder: str | Path, *, overwrite: bool = False, ca_name: str = "confidata study CA"
) -> dict[str, Path]:
    """Write a CA and a key+certificate per party into `folder`; returns the paths by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / "mpyc_ca.crt", folder / "mpyc_ca.key"]
    for i, _ in enumerate(study.parties):
        targets += [folder / f"party_{i}.crt", folder / f"party_{i}.key"]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"'{existing[0]}' already exists; pass --overwrite to replace the "
            "certificates, or -o to write elsewhere."
        )
    paths: dict[str, Path] = {"ca": folder / "mpyc_ca.crt"}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            str(DAYS),
            "-subj",
            f"/CN={ca_name}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            cwd=tmp,
        )
        for i, party in enumerate(study.parties):
            ext = tmp / f"p{i}.ext"
            ext.write_text(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth,clientAuth\n"
                f"subjectAltName=DNS:{party.name.lower()}\n"
            )
            _openssl(
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                f"p{i}.key",
                "-out",
                f"p{i}.csr",
                "-subj",
                f"/CN=MPyC party {i}",
                cwd=tmp,
            )
            _openssl(
                "x509",
                "-req",
                "-in",
                f"p{i}.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                f"p{i}.crt",
                "-days",
                str(DAYS),
                "-extfile",
                ext.name,
                cwd=tmp,
            )
            paths[party.name] = folder / f"party_{i}.crt"
        moves = [("ca.crt", "mpyc_ca.crt"), ("ca.key", "mpyc_ca.key")]
        moves += [(f"p{i}.{s}", f"party_{i}.{s}") for i in range(len(study.parties)) for s in ("crt", "key")]
        for src, dst in moves:
            if dst.endswith(".key"):
                _private(tmp / src)
            shutil.move(str(tmp / src), str(folder / dst))
    return paths


def tls_context(study: Study, me: str, key_file: Path | None, *, server: bool) -> ssl.SSLContext | None:
    """The TLS context of party `me` in `study` (None when the study runs without TLS): its
    certificate and key, the study's CA, both ends verified. One place for every protocol's
    links, tables and intersections alike."""
    if not study.tls:
        return None
    cert = study.resolve(study.party(me).certificate)
    key = key_file or cert.with_suffix(".key")
    ca = study.resolve(study.ca)
    for path, what in ((cert, "certificate"), (key, "private key"), (ca, "CA certificate")):
        if not path.is_file():
            raise ConfidataError(
                f"The {what} '{path}' of party '{me}' does not exist; make the "
                "certificates with 'confidata secure certs STUDY -o DIR'."
            )
    purpose = ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
    context = ssl.create_default_context(purpose, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), keyfile=str(key))
    context.verify_mode = ssl.CERT_REQUIRED
    return context
