"""The timed MSAL program: print a cached access token with acquire_token_silent.

usage: msal_token.py ISSUER CLIENT_ID TOKEN_CACHE_FILE HTTP_CACHE_FILE [--verify | --no-http-cache]

What a CLI built on MSAL Python does to print a token: import msal, load the token cache file,
build a PublicClientApplication (served from the persisted http_cache, as MSAL recommends for CLIs,
so no discovery request), pick the account and call acquire_token_silent. The token goes to
stdout (the benchmark sends it to /dev/null).

--verify: instead, block every socket connection, call acquire_token_silent, check that the token
came from the cache (result["token_source"] == "cache"), and print only a summary on stderr.

--no-http-cache: ignore HTTP_CACHE_FILE, so MSAL fetches the OIDC discovery document every run, as
a CLI that does not follow MSAL's http_cache recipe does (a context row of the benchmark).
"""
import sys

from msal_common import SCOPES, load_http_cache, make_app

import msal


def main():
    issuer, client_id, cache_file, http_cache_file = sys.argv[1:5]
    verify = "--verify" in sys.argv[5:]
    http_cache = {} if "--no-http-cache" in sys.argv[5:] else load_http_cache(http_cache_file)
    if verify:
        import socket

        def refuse(*_args, **_kwargs):
            raise OSError("network access during the verification run")
        socket.socket.connect = refuse
        socket.create_connection = refuse

    cache = msal.SerializableTokenCache()
    with open(cache_file) as f:
        cache.deserialize(f.read())
    app = make_app(issuer, client_id, cache, http_cache)
    accounts = app.get_accounts()
    if not accounts:
        sys.exit("msal: no account in %s" % cache_file)
    result = app.acquire_token_silent(SCOPES, account=accounts[0])
    if not result or "access_token" not in result:
        sys.exit("msal: acquire_token_silent returned no token: %r" % (result and result.get("error")))
    if verify:
        source = result.get("token_source")
        if source != "cache":
            sys.exit("msal: token_source is %r, not 'cache'" % source)
        print("msal: acquire_token_silent returned a %d-character token from the cache, no network"
              % len(result["access_token"]), file=sys.stderr)
        return
    sys.stdout.write(result["access_token"] + "\n")


if __name__ == "__main__":
    main()
