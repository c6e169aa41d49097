"""Issuing departments: certificate types, PDF rendering with a signed QR code, PAdES signing.

Departments, their signing keys and certificates, the certificate registry and revocation, and the
service's own OCSP responder, CRL and RFC 3161 time-stamping endpoints live here. Built in the
issuance issue; this package holds no code yet.
"""
