"""PDF and QR verdicts, in ETSI EN 319 102-1 terms.

Judges any PDF (not only Amanat's) and any certificate QR payload against trust anchors and a
validation time passed in, and returns a frozen verdict (TOTAL_PASSED / INDETERMINATE /
TOTAL_FAILED with a sub-indication and reasons, DESIGN 4.3), never a bare bool. It needs no
database: whether Amanat issued a certificate is a registry lookup that ``web`` combines with the
verdict. Built in the verification issue; this package holds no code yet.
"""
