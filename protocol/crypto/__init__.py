"""The v1 crypto suite (SPEC.md §7): Ed25519, X25519, HKDF-SHA256, AES-128-CCM."""
