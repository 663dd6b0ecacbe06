"""pytest plugin (entry point `pytest11`): fixtures for testing apps against invoicekit."""

from __future__ import annotations
