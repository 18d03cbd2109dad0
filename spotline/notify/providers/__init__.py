"""Messaging providers as plug-ins: one folder each (``<name>/transport.py`` and
whatever else the provider needs), a small ``base.Transport``, and ``registry``.

A provider is enabled by settings (``SPOTLINE_PROVIDERS``), serves one or more
channels, and declares the request fields to redact from anything it logs.
"""
