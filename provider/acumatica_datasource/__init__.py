"""Acumatica data sources as code."""
