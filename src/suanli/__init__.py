"""Suanli: public compute-voucher programs and a heterogeneous AI-compute exchange."""

__version__ = "0.1.0"
