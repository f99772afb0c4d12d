"""Typed reports of the cryptographic mechanisms (secure aggregation, HE, proofs).

Declared fields instead of dict keys, so the app reads ``report.error_bound`` (or
``report["error_bound"]``) and a typo fails loudly. ``None`` means "does not apply here" (e.g.
``key_bits`` under CKKS) and is left out of the run JSON. Times are wall-clock milliseconds of
this process; sizes are bytes on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from fedsim.reports import Report


@dataclass(frozen=True)
class SecAggClientReport(Report):
    """Rounds 0–2 of Bonawitz et al. for every sampled client: keys, shares, masked inputs."""

    clients: int
    threshold: int  # t: shares needed to rebuild a secret
    share_holders: int
    neighbors: int
    secagg_plus: bool
    weight_scale: float
    scale_bits: int
    clip: float
    clipped_fraction: float
    client_ms: float
    client_ms_per_client: float
    client_ms_max: float
    bytes_per_client: int
    bytes_masked_vector: int
    bytes_public_keys: int
    bytes_encrypted_shares: int
    bytes_unmask_shares: int
    preview_client: int | None = None
    preview_plain: list | None = None
    preview_quantized: list | None = None
    preview_masked: list | None = None
    plain_byte_entropy_bits: float | None = None
    masked_byte_entropy_bits: float | None = None


@dataclass(frozen=True)
class SecureSumReport(Report):
    """Round 4: what the server reconstructed and how close the sum is to the plain one."""

    server_ms: float
    survivors: int
    dropped: list
    dropped_recovered: int
    secrets_reconstructed: int
    max_abs_error: float
    quantization_error: float
    error_bound: float
    preview_sum: list
    preview_plain_sum: list


@dataclass(frozen=True)
class AbortedSumReport(Report):
    """The secure sum could not be completed (too few survivors): the round was abandoned."""

    aborted: str


@dataclass(frozen=True)
class EncryptionReport(Report):
    """Client side of homomorphic encryption (Paillier or CKKS)."""

    scheme: str
    keygen_ms: float
    encrypt_ms: float
    client_ms: float
    encrypt_ms_per_client: float
    ciphertexts_per_client: int
    ciphertext_bytes_per_client: int
    plaintext_bytes_per_client: int
    expansion: float
    bytes_per_client: int
    encrypted_coordinates: int
    clear_coordinates: int
    weight_scale: float
    key_bits: int | None = None
    poly_modulus_degree: int | None = None
    layer: int | None = None
    slots_per_ciphertext: int | None = None
    slot_bits: int | None = None
    frac_bits: int | None = None
    scale_bits: int | None = None
    clip: float | None = None
    clipped_fraction: float | None = None
    preview_hex: str | None = None
    #: Time the message-independent part used this round took to prepare *off* the round
    #: ("precomputed while you read"): Paillier's obfuscators rⁿ mod n², CKKS's encryptions of
    #: zero; 0 when the pool was short and all ran in the round.
    precompute_ms: float | None = None


@dataclass(frozen=True)
class DecryptionReport(Report):
    """Server side of homomorphic encryption: add ciphertexts, decrypt the sum once."""

    add_ms: float
    decrypt_ms: float
    server_ms: float
    summed: int
    max_abs_error: float | None = None
    max_abs_error_encrypted: float | None = None
    quantization_error: float | None = None
    summed_in_clear: int | None = None
    preview_sum: list | None = None
    preview_plain_sum: list | None = None


@dataclass(frozen=True)
class ProofReport(Report):
    """Clients prove their updates are in bounds (L∞ range proofs or an L2 norm bound)."""

    bound: float
    coordinates_checked: int
    clients: list
    prove_ms: list
    client_ms: float
    prove_ms_per_client: float
    proof_bytes_per_client: int
    bytes_per_client: int
    norm: str | None = None
    bits: int | None = None
    grid_step: float | None = None
    layer: int | None = None
    challenge_preview: list | None = None
    honest_clipped_fraction: float | None = None
    honest_clipped: int | None = None
    #: per client, the ms of its proof that were made before the round ("precomputed while
    #: you read", which the round did not wait for; 0 for a proof made whole in the round:
    #: how much was ready depends on how long the result was read), and their sum
    precompute_ms_by_client: list | None = None
    precompute_ms: float | None = None


@dataclass(frozen=True)
class VerifyReport(Report):
    """The server checks every arrived proof and drops the updates that fail."""

    clients: list
    verified: list
    reasons: list
    verify_ms: list
    verify_ms_total: float
    server_ms: float
    verify_ms_per_client: float
    proof_bytes: list
    rejected: list
    accepted: int
    per_client: Mapping[str, Any]
    norm: str | None = None


@dataclass(frozen=True)
class AggregateCheckReport(Report):
    """RoFL's check: the accepted commitments, added up, open to the aggregate applied."""

    aggregate_check: bool | None
    aggregate_opens: bool | None = None
    aggregate_matches: bool | None = None
    aggregate_max_gap: float | None = None
    aggregate_tolerance: float | None = None
    aggregate_check_ms: float | None = None
    aggregate_note: str | None = None
