"""The ASGI app a server in another process serves: the app under test, named by the import
string in `WSCONFORM_WITNESSED_APP`, inside its witness (`targets/servers/witness.py`), which
the test process asks over the same port (`/_wsconform/...`) for the app's errors, whether the
app is idle, and a freshly built app.
"""

from __future__ import annotations

import os

from wsconform.targets.servers.witness import WITNESSED_APP_ENV, AppWitness


def _witnessed_import_string() -> str:
    import_string = os.environ.get(WITNESSED_APP_ENV)
    if not import_string:
        raise RuntimeError(
            f"{__name__} serves the app named by ${WITNESSED_APP_ENV} (module:attr); it is unset"
        )
    return import_string


app = AppWitness(_witnessed_import_string())
