"""Let MSAL Python talk to an identity provider on the loopback interface over plain http://.

MSAL refuses any authority that is not https:// in ``msal.authority.canonicalize`` (used for the
authority, the token endpoint from discovery, and by the token cache). For the benchmark the IdP
is a local Glewlwyd on 127.0.0.1, so this wraps that one function: an ``http://`` URL whose host is
a loopback address is checked as if it were ``https://``; everything else goes to MSAL unchanged.
Nothing under site-packages is edited. Import this module before creating an application.
"""
import ipaddress
from urllib.parse import urlparse

import msal.authority
import msal.token_cache

_original = msal.authority.canonicalize


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def canonicalize(url):
    parsed = urlparse(url)
    if parsed.scheme == "http" and parsed.hostname and _is_loopback(parsed.hostname):
        _, host, tenant = _original(parsed._replace(scheme="https").geturl())
        return parsed, host, tenant
    return _original(url)


# Both modules bound the name at import time ("from .authority import canonicalize").
msal.authority.canonicalize = canonicalize
msal.token_cache.canonicalize = canonicalize
