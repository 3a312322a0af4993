"""What the MSAL side of the benchmark shares between sign-in and the timed program."""
import os
import pickle

import msal_loopback  # noqa: F401  (must run before msal builds an Authority)
import msal

# MSAL adds openid and profile itself (and refuses them in `scopes`); with these the request is
# "openid profile email mail.read", the same scopes as the devicegate profile.
SCOPES = ["email", "mail.read"]


def load_http_cache(path):
    """MSAL's recipe for CLIs: persist the http_cache so OIDC discovery is not fetched every run."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (FileNotFoundError, pickle.UnpicklingError, EOFError):
        return {}


def make_app(issuer, client_id, cache, http_cache):
    return msal.PublicClientApplication(
        client_id,
        oidc_authority=issuer,
        token_cache=cache,
        http_cache=http_cache,
        # Glewlwyd does not know offline_access, which MSAL otherwise always asks for.
        exclude_scopes=["offline_access"],
    )


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
