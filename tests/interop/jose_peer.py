#!/usr/bin/env python3
"""An independent JOSE peer for mayfly's interop tests, built on jwcrypto.

Commands (inputs on stdin, results on stdout, exit status 0 on success):
  jwe-encrypt PASSWORD_FILE ENC P2C   plaintext in, compact PBES2 JWE out
  jwe-decrypt PASSWORD_FILE           compact JWE in, plaintext out
  jws-sign ALG                        payload in; public JWK, token lines out
  jws-verify ALG                      public JWK, token lines in; payload out
  jws-sign-pss SALT_LEN               as jws-sign PS256, with another PSS salt
"""

import json
import sys

from jwcrypto import jwa, jwe, jwk, jws

# step writes p2c = 600000; jwcrypto's own cap is far lower. Raise it to the
# go-jose cap that mayfly also applies.
jwa.default_max_pbkdf2_iterations = 1000000

PBES2 = "PBES2-HS256+A128KW"


def read_password(path):
    with open(path, "rb") as f:
        return f.read()


def jwe_encrypt(password_file, enc, p2c):
    key = jwk.JWK.from_password(read_password(password_file).decode())
    header = {"alg": PBES2, "enc": enc, "p2c": int(p2c)}
    token = jwe.JWE(sys.stdin.buffer.read(), protected=json.dumps(header))
    token.add_recipient(key)
    sys.stdout.write(token.serialize(compact=True))


def jwe_decrypt(password_file):
    key = jwk.JWK.from_password(read_password(password_file).decode())
    token = jwe.JWE()
    token.allowed_algs = [PBES2, "A128GCM", "A256GCM"]
    token.deserialize(sys.stdin.read().strip(), key=key)
    sys.stdout.buffer.write(token.payload)


def new_key(alg):
    if alg == "ES256":
        return jwk.JWK.generate(kty="EC", crv="P-256")
    if alg == "ES384":
        return jwk.JWK.generate(kty="EC", crv="P-384")
    if alg == "EdDSA":
        return jwk.JWK.generate(kty="OKP", crv="Ed25519")
    if alg in ("RS256", "PS256"):
        return jwk.JWK.generate(kty="RSA", size=2048)
    raise SystemExit("unknown alg " + alg)


def jws_sign(alg):
    key = new_key(alg)
    token = jws.JWS(sys.stdin.buffer.read())
    token.add_signature(key, alg=alg,
                        protected=json.dumps({"alg": alg, "kid": "peer"}))
    print(key.export_public())
    print(token.serialize(compact=True))


def jws_sign_pss(salt_len):
    # jwcrypto always uses the RFC 7518 salt (32 bytes); sign by hand with
    # `cryptography` to make a token a strict verifier must refuse.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from jwcrypto.common import base64url_encode

    key = new_key("PS256")
    header = base64url_encode(json.dumps({"alg": "PS256"}))
    payload = base64url_encode(sys.stdin.buffer.read())
    signing_input = (header + "." + payload).encode()
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), int(salt_len))
    signature = key.get_op_key("sign").sign(signing_input, pss,
                                             hashes.SHA256())
    print(key.export_public())
    print(header + "." + payload + "." + base64url_encode(signature))


def jws_verify(alg):
    lines = sys.stdin.read().split("\n")
    key = jwk.JWK.from_json(lines[0])
    token = jws.JWS()
    token.deserialize(lines[1].strip())
    token.verify(key, alg=alg)
    sys.stdout.buffer.write(token.payload)


def main(argv):
    commands = {
        "jwe-encrypt": jwe_encrypt,
        "jwe-decrypt": jwe_decrypt,
        "jws-sign": jws_sign,
        "jws-sign-pss": jws_sign_pss,
        "jws-verify": jws_verify,
    }
    if len(argv) < 2 or argv[1] not in commands:
        raise SystemExit(__doc__)
    commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
