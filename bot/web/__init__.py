"""The console: server-rendered pages over the same services as the API and Slack.

``session.py`` signs people in (a named token, kept as its SHA-256 in a signed cookie),
``csrf.py`` guards every form, ``pages.py`` renders templates with autoescape and the
signed-in person's permissions, ``headers.py`` sets the Content-Security-Policy, and
``app.py`` mounts it all. One module per feature holds that feature's pages.
"""
