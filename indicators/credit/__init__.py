"""Credit-risk tiers and the 双随机 draw: see indicators/credit/tiers.py and docs/CREDIT_TIERS.md.

This family folder holds no indicator yml of its own: the credit marts are built from the other
families' flags and the register sources by indicators/credit/tiers.py.
"""
