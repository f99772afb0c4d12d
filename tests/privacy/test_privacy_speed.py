"""The speed-ups of issue #26 compute the same things: Shamir over GF(2^128), HKDF through HMAC,
Paillier's precomputed obfuscators."""
import os
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedsim.privacy import secagg
from fedsim.privacy.he import ObfuscatorPool, paillier_keys
from fedsim.privacy.workers import paillier_encrypt_online


def test_gf128_field_laws():
    r = random.Random(1)
    for _ in range(200):
        a, b, c = (r.getrandbits(128) for _ in range(3))
        a |= 1
        assert secagg._gf_mul(a, secagg._gf_inv(a)) == 1
        assert secagg._gf_mul(a, b ^ c) == secagg._gf_mul(a, b) ^ secagg._gf_mul(a, c)
        assert secagg._gf_mul(secagg._gf_mul(a, b), c) == secagg._gf_mul(a, secagg._gf_mul(b, c))
        assert secagg._gf_mul(a, 7) == secagg._gf_mul(7, a)


@pytest.mark.parametrize("t,m", [(1, 1), (2, 2), (2, 5), (6, 10), (11, 11)])
def test_shamir_any_t_shares_rebuild_and_fewer_do_not(t, m):
    r = random.Random(t * 100 + m)
    secret = os.urandom(32)
    shares = secagg.shamir_split(secret, t, m)
    assert all(len(s) == secagg.SHARE_BYTES for s in shares)
    for _ in range(5):
        idx = r.sample(range(m), t)
        assert secagg.shamir_combine([(i + 1, shares[i]) for i in idx]) == secret
    if t >= 2:  # t − 1 true shares plus a forged one rebuild something else
        idx = r.sample(range(m), t)
        forged = [(i + 1, shares[i]) for i in idx[:-1]] + [(idx[-1] + 1, os.urandom(32))]
        assert secagg.shamir_combine(forged) != secret


def test_shamir_shares_are_fresh_each_split():
    s = os.urandom(32)
    assert secagg.shamir_split(s, 3, 5) != secagg.shamir_split(s, 3, 5)


def test_hkdf_matches_rfc5869_implementation():
    for _ in range(50):
        sec, info = os.urandom(32), os.urandom(40)
        ref = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(sec)
        assert secagg.hkdf(sec, info) == ref


def test_paillier_online_encryption_is_raw_encrypt_with_that_r():
    import gmpy2

    pub, holder, _ = paillier_keys(1024)
    r = [random.SystemRandom().randrange(1, pub.n) for _ in range(3)]
    msgs = [0, 12345, pub.n - 1]
    obf = [int(gmpy2.powmod(x, pub.n, pub.nsquare)) for x in r]
    cts, _ = paillier_encrypt_online(pub.n, msgs, obf)
    assert list(cts) == [pub.raw_encrypt(m, r_value=x) for m, x in zip(msgs, r)]
    assert holder.decrypt_sum(cts) == msgs


def test_obfuscator_pool_never_hands_one_out_twice():
    pub, _, _ = paillier_keys(1024)
    pool = ObfuscatorPool(pub.n)
    pool.refill_async(12)
    pool.wait()
    a, cost_a = pool.take(5)
    b, _ = pool.take(5)
    c, _ = pool.take(5)                      # only 2 left
    assert len(a) == 5 and len(b) == 5 and len(c) == 2 and len(pool) == 0
    assert len({int(x) for x in a + b + c}) == 12 and cost_a > 0
    assert pool.made == 12
