"""Remote decision backends. Today: the BIGHUB control plane, through the official `bighub` SDK.

    from governance.backends.bighub import AsyncBighubBackend, BighubBackend, bighub_backend_from_settings

(imported from the submodule so that using the embedded engine never imports the SDK.)
"""
