"""Issuing departments: the deployment PKI, certificate PDFs with a signed QR code, PAdES signing.

:mod:`signing.pki` runs the service's own root CA, OCSP responder, CRL and time-stamping
authority, and the departments' signing keys (sealed under the master key, or inside a PKCS#11
token). :mod:`signing.types` holds the certificate types as data; :mod:`signing.render` draws the
A4 page (English and Urdu); :mod:`signing.qr` builds the COSE-signed QR payload of DESIGN 4.2;
:mod:`signing.pades` signs with pyHanko and checks every file offline and strictly before release;
:mod:`signing.issuance` ties it together with the registry, the holder's vault and the ledger;
:mod:`signing.batch` reads CSV batches.
"""
