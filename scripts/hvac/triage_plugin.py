"""Triage-only pytest plugin: NOT used for the reported counts.

`scripts/hvac/run.sh --triage` loads it (`-p triage_plugin`) to look past a server bug that
stops every test class at setup, so the next layer of failures can be seen. Each patch here names
the warden bug it hides; drop the patch when warden is fixed. The tests themselves are untouched.

* sys/init: hvac sends `"root_token_pgp_key": null`; Vault treats JSON null as "not set",
  warden answered 400 `failed to decode JSON input: invalid type: null, expected a string`.
  The patch drops None values from the sys/init body.
"""

import hvac.adapters

_original_put = hvac.adapters.Adapter.put


def _put(self, url, **kwargs):
    if url == "/v1/sys/init" and isinstance(kwargs.get("json"), dict):
        kwargs["json"] = {k: v for k, v in kwargs["json"].items() if v is not None}
    return _original_put(self, url, **kwargs)


hvac.adapters.Adapter.put = _put
