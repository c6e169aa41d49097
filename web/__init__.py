"""HTTP and command line: the only package that imports Flask (and click).

The Flask app factory (:func:`web.app.create_app`), blueprints for the pages and the JSON API,
templates, the small static scripts (WebAuthn and upload), the mapping of every domain error to an
HTTP answer in one place (:mod:`web.errors`), and the ``amanat`` command line. ``web`` owns the
database transaction: one per request, committed before the response is sent.
"""
