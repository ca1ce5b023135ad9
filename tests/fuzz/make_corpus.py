#!/usr/bin/env python3
"""Writes the fuzz seed corpora in tests/testdata/fuzz-corpus/<target>/.

Run from anywhere: python3 tests/fuzz/make_corpus.py. Needs openssl and the
Python modules cryptography and jwcrypto (scripts/setup installs them).

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
import shutil
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


def main():
    for target in ("jws_parse", "jwk_parse", "jwe_decrypt", "key_parse",
                   "certificate_parse", "csr_parse"):
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    jws_seeds()
    jwk_seeds()
    jwe_seeds()
    key_seeds()
    certificate_seeds()
    csr_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(os.path.join(CORPUS, target)))} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
