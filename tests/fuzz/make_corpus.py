#!/usr/bin/env python3
"""Writes the fuzz seed corpora in tests/testdata/fuzz-corpus/<target>/.

Run from anywhere: python3 tests/fuzz/make_corpus.py [TARGET...] (default:
every target). Needs openssl and the Python modules cryptography and
jwcrypto (scripts/setup installs them). Files named regress-* (inputs that
once found a bug) are kept; every other seed of a target is rewritten.

Seeds are small real inputs: what step and step-ca wrote
(tests/testdata/step/), the RFC 7515 / RFC 8037 examples, and a few
generated inputs that reach paths the others do not (a low-p2c JWE that
decrypts under the fuzz target's p2c cap, a P-384 and an RSA JWK, a token
with x5cInsecure). Generated seeds use fresh randomness, so re-running
changes those files; that is harmless. All keys are test-only.
"""

import base64
import json
import os
import subprocess
import sys

import jwcrypto.jwa
from jwcrypto import jwe, jwk, jws
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
STEP = os.path.join(HERE, "..", "testdata", "step")
CORPUS = os.path.join(HERE, "..", "testdata", "fuzz-corpus")
PASSWORD = open(os.path.join(STEP, "password.txt"), "rb").read().strip()

# RFC 7515 appendix A.1 (HS256: refused by mayfly, a useful seed all the
# same), A.3 (ES256) and RFC 8037 appendix A.4 (EdDSA).
RFC7515_A1 = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
RFC7515_A3 = (
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
RFC8037_A4 = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
RFC7515_A3_KEY = {
    "kty": "EC", "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}
RFC8037_A1_KEY = {
    "kty": "OKP", "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


def step(name):
    with open(os.path.join(STEP, name), "rb") as f:
        return f.read()


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    path = os.path.join(CORPUS, target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True,
                          capture_output=True).stdout


def pem_blocks(data):
    text = data.decode()
    blocks, rest = [], text
    while "-----BEGIN " in rest:
        start = rest.index("-----BEGIN ")
        end = rest.index("-----", rest.index("-----END ", start) + 9) + 5
        blocks.append(rest[start:end] + "\n")
        rest = rest[end:]
    return blocks


def pem_to_der(block):
    body = "".join(l for l in block.splitlines() if l and not l.startswith("-----"))
    return base64.b64decode(body)


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":"))


def jws_seeds():
    write("jws_parse", "step-sign-token.jwt", step("sign-token.jwt").strip())
    write("jws_parse", "step-revoke-token.jwt", step("revoke-token.jwt").strip())
    write("jws_parse", "rfc7515-a1-hs256.jwt", RFC7515_A1)
    write("jws_parse", "rfc7515-a3-es256.jwt", RFC7515_A3)
    write("jws_parse", "rfc8037-a4-eddsa.jwt", RFC8037_A4)
    # A renew-style token: signed by the leaf's key, x5cInsecure = chain.
    key = jwk.JWK.from_pem(step("leaf.key"))
    chain = [base64.b64encode(pem_to_der(b)).decode()
             for b in pem_blocks(step("leaf.crt"))]
    token = jws.JWS(compact_json({"aud": "https://127.0.0.1/1.0/renew",
                                  "sub": "svc.example.com"}).encode())
    token.add_signature(key, protected=compact_json(
        {"alg": "ES256", "typ": "JWT", "x5cInsecure": chain}))
    write("jws_parse", "x5c-insecure-es256.jwt", token.serialize(compact=True))


def jwk_seeds():
    write("jwk_parse", "step-jwk-pub.json", step("jwk.pub.json"))
    write("jwk_parse", "step-ed-pub.json", step("ed.pub.json"))
    provisioners = json.loads(step("provisioners.json"))
    write("jwk_parse", "step-provisioner-key.json",
          compact_json(provisioners["provisioners"][0]["key"]))
    jwcrypto.jwa.default_max_pbkdf2_iterations = 1000000
    password_key = jwk.JWK.from_password(PASSWORD.decode())
    for src, name in (("jwk.priv.json", "step-jwk-priv-decrypted.json"),
                      ("ed.priv.json", "step-ed-priv-decrypted.json")):
        token = jwe.JWE()
        token.deserialize(step(src).decode(), key=password_key)
        write("jwk_parse", name, token.payload)
    write("jwk_parse", "rfc7515-a3-ec-private.json", compact_json(RFC7515_A3_KEY))
    write("jwk_parse", "rfc8037-a1-ed25519-private.json",
          compact_json(RFC8037_A1_KEY))
    p384 = jwk.JWK.from_pyca(ec.generate_private_key(ec.SECP384R1()))
    write("jwk_parse", "p384-private.json", p384.export_private())
    rsa_key = jwk.JWK.from_pyca(rsa.generate_private_key(65537, 2048))
    write("jwk_parse", "rsa2048-public.json", rsa_key.export_public())
    write("jwk_parse", "rsa2048-private.json", rsa_key.export_private())


def jwe_seeds():
    write("jwe_decrypt", "step-jwk-priv-flattened.json", step("jwk.priv.json"))
    write("jwe_decrypt", "step-ed-priv-flattened.json", step("ed.priv.json"))
    password_key = jwk.JWK.from_password(PASSWORD.decode())
    payload = compact_json(RFC7515_A3_KEY).encode()
    for enc in ("A256GCM", "A128GCM"):
        header = {"alg": "PBES2-HS256+A128KW", "enc": enc, "p2c": 1000,
                  "cty": "jwk+json"}
        token = jwe.JWE(payload, protected=compact_json(header))
        token.add_recipient(password_key)
        compact = token.serialize(compact=True)
        write("jwe_decrypt", f"p2c1000-{enc.lower()}.jwe", compact)
        if enc == "A256GCM":
            # The flattened JSON serialization, every header member
            # protected, as `step crypto jwk create` writes it.
            parts = compact.split(".")
            names = ("protected", "encrypted_key", "iv", "ciphertext", "tag")
            write("jwe_decrypt", "p2c1000-a256gcm-flattened.json",
                  json.dumps(dict(zip(names, parts)), indent=2))


def key_seeds():
    for name in ("leaf.key", "csr.key", "ed-csr.key", "rsa-csr.key"):
        write("key_parse", name.replace(".key", "-key.pem"), step(name))
    write("key_parse", "root-ca-key-legacy-encrypted.pem",
          step("steppath/secrets/root_ca_key"))
    password = "pass:" + PASSWORD.decode()
    # PKCS#8 PBES2 as step writes it, but 2048 PBKDF2 iterations instead of
    # 600000 so the seed is cheap to run.
    write("key_parse", "pkcs8-encrypted-2048-iterations.pem",
          openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf",
                  "hmacWithSHA256", "-iter", "2048", "-passout", password,
                  data=step("csr.key")))
    write("key_parse", "p256-sec1.der",
          openssl("ec", "-outform", "DER", data=step("csr.key")))
    write("key_parse", "p256-pkcs8.der",
          openssl("pkcs8", "-topk8", "-nocrypt", "-outform", "DER",
                  data=step("csr.key")))
    write("key_parse", "ed25519-pkcs8.der",
          openssl("pkey", "-outform", "DER", data=step("ed-csr.key")))
    write("key_parse", "rsa-pkcs1.der",
          openssl("rsa", "-traditional", "-outform", "DER",
                  data=step("rsa-csr.key")))
    write("key_parse", "p256-spki.der",
          openssl("pkey", "-pubout", "-outform", "DER", data=step("leaf.key")))
    write("key_parse", "ed25519-public.pem",
          openssl("pkey", "-pubout", data=step("ed-csr.key")))
    write("key_parse", "rsa-spki.der",
          openssl("pkey", "-pubout", "-outform", "DER", data=step("rsa-csr.key")))


def certificate_seeds():
    root = step("steppath/certs/root_ca.crt")
    intermediate = step("steppath/certs/intermediate_ca.crt")
    write("certificate_parse", "root-ca.pem", root)
    write("certificate_parse", "intermediate-ca.pem", intermediate)
    write("certificate_parse", "leaf-chain.pem", step("leaf.crt"))
    write("certificate_parse", "root-ca.der", pem_to_der(root.decode()))
    write("certificate_parse", "intermediate-ca.der",
          pem_to_der(intermediate.decode()))
    write("certificate_parse", "leaf.der",
          pem_to_der(pem_blocks(step("leaf.crt"))[0]))


def csr_seeds():
    for name in ("csr.pem", "ed-csr.pem", "rsa-csr.pem"):
        data = step(name)
        write("csr_parse", name, data)
        write("csr_parse", name.replace(".pem", ".der"),
              pem_to_der(data.decode()))


def config_seeds():
    write("config_load", "step-ca.json", step("steppath/config/ca.json"))
    write("config_load", "minimal.json",
          compact_json({"root": "certs/root_ca.crt",
                        "crt": "certs/intermediate_ca.crt",
                        "key": "secrets/intermediate_ca_key"}))
    provisioners = json.loads(step("provisioners.json"))["provisioners"]
    ed_key = json.loads(step("ed.pub.json"))
    # Every member mayfly reads, with values off the defaults, and the ones
    # it ignores or refuses nearby.
    full = {
        "root": ["/ca/certs/root_ca.crt", "certs/old_root.crt"],
        "federatedRoots": ["certs/partner_root.crt"],
        "crt": "certs/intermediate_ca.crt",
        "key": "/ca/secrets/intermediate_ca_key",
        "address": "[::]:443",
        "insecureAddress": ":8080",
        "dnsNames": ["ca.internal", "10.0.0.1", "::1"],
        "logger": {"format": "json"},
        "db": {"type": "badgerv2", "dataSource": "/ca/db"},
        "store": "sqlite:/ca/db/mayfly.sqlite",
        "storePrune": {"interval": "15m", "retention": "720h"},
        "commonName": "Fuzz Online CA",
        "authority": {
            "provisioners": [
                dict(provisioners[0], claims={
                    "minTLSCertDuration": "1m", "maxTLSCertDuration": "2h",
                    "defaultTLSCertDuration": "30m",
                    "disableRenewal": False,
                    "allowRenewalAfterExpiry": True,
                    "renewalGracePeriod": "1h30m"}),
                {"type": "JWK", "name": "ed@example.com", "key": ed_key},
            ],
            "claims": {"maxTLSCertDuration": "48h"},
            "backdate": "30s",
            "disableIssuedAtCheck": False,
            "policy": {},
        },
        "tls": {"cipherSuites": ["TLS_AES_128_GCM_SHA256"],
                "minVersion": 1.3, "maxVersion": 1.3, "renegotiation": False},
        "crl": {"enabled": True, "generateOnRevoke": False,
                "cacheDuration": "1h", "renewPeriod": "40m",
                "idpURL": "https://ca.internal/1.0/crl"},
        "ssh": {"hostKey": "secrets/ssh_host_ca_key"},
        "templates": {},
        "password": "not-read",
    }
    write("config_load", "full.json", json.dumps(full, indent=2))
    write("config_load", "refused-policy.json",
          compact_json({"root": "r", "crt": "c", "key": "k",
                        "authority": {"policy": {"x509": {"allow": {}}}}}))
    write("config_load", "refused-duplicate-provisioner.json",
          compact_json({"root": "r", "crt": "c", "key": "k", "authority": {
              "provisioners": [provisioners[0], provisioners[0]]}}))


def pem_seeds():
    write("pem_decode", "chain.pem", step("leaf.crt"))
    write("pem_decode", "csr.pem", step("csr.pem"))
    # A legacy encrypted key: RFC 1421 headers before the body.
    write("pem_decode", "legacy-encrypted-key.pem",
          step("steppath/secrets/root_ca_key"))
    write("pem_decode", "text-around-blocks.pem",
          b"subject=CN = leaf\n" + step("csr.pem") + b"trailing text\n")
    write("pem_decode", "base64-padded.txt", "TWF5Zmx5IGZ1eno=")
    write("pem_decode", "base64url-segment.txt",
          step("sign-token.jwt").strip().split(b".")[0])
    write("pem_decode", "no-end-line.pem",
          "-----BEGIN CERTIFICATE-----\nTWF5Zmx5\n")


def capi_seeds():
    for target, name, data in (
            ("capi_bytes", "leaf-chain.pem", step("leaf.crt")),
            ("capi_bytes", "root-ca.pem", step("steppath/certs/root_ca.crt")),
            ("capi_bytes", "leaf.der", pem_to_der(pem_blocks(step("leaf.crt"))[0])),
            ("capi_bytes", "csr.pem", step("csr.pem")),
            ("capi_bytes", "ed-csr.der", pem_to_der(step("ed-csr.pem").decode())),
            ("capi_bytes", "leaf-key.pem", step("leaf.key")),
            ("capi_bytes", "rsa-key.pem", step("rsa-csr.key")),
            ("capi_bytes", "ed25519-pkcs8.der",
             openssl("pkey", "-outform", "DER", data=step("ed-csr.key"))),
            ("capi_bytes", "legacy-encrypted-key.pem",
             step("steppath/secrets/root_ca_key"))):
        write(target, name, data)


# api_router requests (tests/fuzz/api_router_fuzz.cc documents the format
# and the $NAME variables). One seed per route and case; "~~~" lines join
# requests that build on each other.
API_SIGN = ('POST /1.0/sign\ncontent-type: application/json\n\n'
            '{"csr":"$CSR","ott":"$SIGN","notBefore":"","notAfter":""}')
API_SEEDS = {
    "health": "GET /health\n",
    "version-head": "HEAD /1.0/version\n",
    "root": "GET /root/$ROOT_SHA\n",
    "root-unknown": "GET /1.0/root/00ff-00EE\n",
    "roots": "GET /roots\n",
    "roots-pem": "GET /1.0/roots.pem\n",
    "intermediates": "GET /intermediates\n",
    "intermediates-pem": "GET /intermediates.pem\n",
    "federation": "GET /1.0/federation\n",
    "provisioners-page": "GET /provisioners?limit=1\n",
    "provisioners-cursor": "GET /1.0/provisioners?cursor=$CURSOR&limit=2\n",
    "provisioners-bad-limit": "GET /provisioners?limit=-%31x\n",
    "encrypted-key": "GET /provisioners/$KID/encrypted-key\n",
    "encrypted-key-absent": "GET /1.0/provisioners/$KID_OPS/encrypted-key\n",
    "crl": "GET /crl\n",
    "crl-pem": "GET /1.0/crl?pem=true\n",
    "unknown": "GET /1.0/acme/directory\n",
    "wrong-method": "DELETE /sign\n~~~\nPOST /health\n",
    "sign": API_SIGN,
    "sign-replay": API_SIGN + "\n~~~\n" + API_SIGN,
    "sign-validity": (
        'POST /sign\ncontent-type: application/json; charset=utf-8\n\n'
        '{"csr":"$CSR","ott":"$SIGN","notBefore":"2026-11-25T00:40:00Z",'
        '"notAfter":"2h","templateData":{"x":1}}'),
    "sign-multi": ('POST /sign\ncontent-type: application/json\n\n'
                   '{"csr":"$CSR_MULTI","ott":"$SIGN_MULTI"}'),
    "sign-ops": ('POST /1.0/sign\ncontent-type: application/json\n\n'
                 '{"csr":"$CSR_OPS","ott":"$SIGN_OPS"}'),
    "sign-short-too-long": ('POST /sign\ncontent-type: application/json\n\n'
                            '{"csr":"$CSR_SHORT","ott":"$SIGN_SHORT",'
                            '"notAfter":"1h"}'),
    "sign-wrong-names": ('POST /sign\ncontent-type: application/json\n\n'
                         '{"csr":"$CSR_MULTI","ott":"$SIGN"}'),
    "sign-no-ott": ('POST /sign\ncontent-type: application/json\n\n'
                    '{"csr":"$CSR"}'),
    "sign-bad-json": ('POST /sign\ncontent-type: application/json\n\n'
                      '{"csr":"$CSR","ott":"$SIGN","ott":"x"}'),
    "sign-text-plain": ('POST /sign\ncontent-type: text/plain\n\n'
                        '{"csr":"$CSR","ott":"$SIGN"}'),
    "renew-mtls": ('POST /1.0/renew\ncontent-type: application/json\n'
                   'peer: leaf,intermediate\n\n'),
    "renew-expired": "POST /renew\npeer: expired,intermediate\n\n",
    "renew-lineage-revoked": "POST /renew\npeer: child\n\n",
    "renew-disabled": "POST /re-sign\npeer: ops,intermediate\n\n",
    "renew-foreign": "POST /renew\npeer: foreign\n\n",
    "renew-bearer": "POST /1.0/renew\nauthorization: Bearer $RENEW\n\n",
    "renew-bearer-expired": "POST /renew\nauthorization: bearer $RENEW_EXPIRED\n\n",
    "renew-bearer-child": "POST /renew\nauthorization: Bearer $RENEW_CHILD\n\n",
    "renew-no-credentials": ('POST /renew\ncontent-type: application/json\n\n'
                             '{}'),
    "rekey": ('POST /1.0/rekey\ncontent-type: application/json\n'
              'peer: leaf,intermediate\n\n{"csr":"$CSR"}'),
    "revoke": ('POST /1.0/revoke\ncontent-type: application/json\n\n'
               '{"serial":"$SERIAL","ott":"$REVOKE","reasonCode":1,'
               '"reason":"key compromise","passive":true}'),
    "revoke-then-renew": (
        'POST /revoke\ncontent-type: application/json\n\n'
        '{"serial":"$SERIAL","ott":"$REVOKE","passive":true}\n~~~\n'
        'POST /renew\npeer: leaf,intermediate\n\n\n~~~\n'
        'POST /renew\nauthorization: Bearer $RENEW\n\n\n~~~\n'
        'GET /crl?pem\n'),
    "revoke-mtls": ('POST /revoke\ncontent-type: application/json\n'
                    'peer: leaf,intermediate\n\n'
                    '{"serial":"$SERIAL_HEX","passive":true}'),
    "revoke-already": ('POST /revoke\ncontent-type: application/json\n\n'
                       '{"serial":"$SERIAL_REVOKED","ott":"$REVOKE_REVOKED",'
                       '"passive":true}'),
    "revoke-wrong-serial": ('POST /revoke\ncontent-type: application/json\n\n'
                            '{"serial":"$SERIAL_OPS","ott":"$REVOKE",'
                            '"passive":true}'),
    "revoke-ops": ('POST /revoke\ncontent-type: application/json\n\n'
                   '{"serial":"$SERIAL_OPS","ott":"$REVOKE_OPS",'
                   '"reasonCode":4,"passive":true}'),
    "revoke-not-passive": ('POST /revoke\ncontent-type: application/json\n\n'
                           '{"serial":"$SERIAL_EXPIRED",'
                           '"ott":"$REVOKE_EXPIRED","passive":false}'),
    "revoke-bad-reason": ('POST /revoke\ncontent-type: application/json\n\n'
                          '{"serial":"$SERIAL","ott":"$REVOKE",'
                          '"reasonCode":11,"passive":true}'),
}


def api_seeds():
    for name, text in API_SEEDS.items():
        write("api_router", name + ".txt", text)


SEEDERS = {
    "jws_parse": jws_seeds,
    "jwk_parse": jwk_seeds,
    "jwe_decrypt": jwe_seeds,
    "key_parse": key_seeds,
    "certificate_parse": certificate_seeds,
    "csr_parse": csr_seeds,
    "config_load": config_seeds,
    "pem_decode": pem_seeds,
    "capi_bytes": capi_seeds,
    "api_router": api_seeds,
}


def main(argv):
    targets = argv or sorted(SEEDERS)
    unknown = [t for t in targets if t not in SEEDERS]
    if unknown:
        print(f"make_corpus.py: no seeds for {' '.join(unknown)}; "
              f"targets: {' '.join(sorted(SEEDERS))}", file=sys.stderr)
        return 2
    for target in targets:
        # Only the generated seeds go; regress-* files (inputs that once
        # found a bug, see README.md) stay.
        path = os.path.join(CORPUS, target)
        if os.path.isdir(path):
            for name in os.listdir(path):
                if not name.startswith("regress-"):
                    os.remove(os.path.join(path, name))
        SEEDERS[target]()
        print(f"{target}: {len(os.listdir(path))} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
