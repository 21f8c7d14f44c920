"""Test helpers that several test directories share (importable as ``tests.support``).

The convention: a test directory's own helpers live in its ``support.py`` (e.g.
``tests.verify.support``); helpers that several directories use live in this package, one
module per thing they stand up or check (``sandbox``, ``site``, ``openbao``, ``postgres``,
``pulumi_engine``, ``e2e``, ``processes``).
"""
