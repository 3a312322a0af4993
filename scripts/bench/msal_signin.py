"""Sign MSAL Python in with the device flow against the local IdP and save its caches.

usage: msal_signin.py ISSUER CLIENT_ID APPROVE_SCRIPT TOKEN_CACHE_FILE HTTP_CACHE_FILE

Runs initiate_device_flow, approves the code with APPROVE_SCRIPT (scripts/idp/approve plays the
person), completes acquire_token_by_device_flow, then writes the serialized SerializableTokenCache
(0600) and the pickled http_cache (holds only the discovery document). Prints no token.
"""
import pickle
import subprocess
import sys

from msal_common import SCOPES, make_app, write_private

import msal


def main():
    issuer, client_id, approve, cache_file, http_cache_file = sys.argv[1:6]
    cache = msal.SerializableTokenCache()
    http_cache = {}
    app = make_app(issuer, client_id, cache, http_cache)
    flow = app.initiate_device_flow(scopes=SCOPES)
    if "user_code" not in flow:
        sys.exit("msal: initiate_device_flow failed: %s %s" % (flow.get("error"), flow.get("error_description")))
    subprocess.run([approve, flow["user_code"]], check=True, stdout=subprocess.DEVNULL)
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        sys.exit("msal: acquire_token_by_device_flow failed: %s %s" % (result.get("error"), result.get("error_description")))
    write_private(cache_file, cache.serialize().encode())
    write_private(http_cache_file, pickle.dumps(http_cache))
    print("msal: signed in; token cache %s, granted scope %r" % (cache_file, result.get("scope")), file=sys.stderr)


if __name__ == "__main__":
    main()
