"""Zero-knowledge proofs that a client's update is bounded, without revealing it.

- :mod:`.group`: BLS12-381's G1 (arkworks), Pedersen commitments and batch verification.
- :mod:`.ahead`: the next round's range proofs, half made while the result is read.
- :mod:`.range_proof`: range proofs on committed coordinates (bit decomposition + OR-proofs).
- :mod:`.l2_proof`: RoFL's L2 norm-bound proof built on them.
- :mod:`.mechanism`: both as a step of the privacy pipeline (``privacy.zkp`` in a config).
"""

from fedsim.privacy.zkp.group import ORDER, commit
from fedsim.privacy.zkp.mechanism import L2NormProofs, RangeProofs, from_config
from fedsim.privacy.zkp.range_proof import (CoordinateProof, RangeProof, prove_coordinate,
                                            verify_coordinate, verify_range_proof)

__all__ = ["ORDER", "CoordinateProof", "L2NormProofs", "RangeProof", "RangeProofs", "commit",
           "from_config", "prove_coordinate", "verify_coordinate", "verify_range_proof"]
