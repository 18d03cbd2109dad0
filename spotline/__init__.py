"""Spotline: police-free overdose and crisis response."""

__version__ = "0.1.0"
