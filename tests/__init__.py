"""stablecopy's tests. No test reaches the internet: proxies are cleared for every process."""

import os

for _name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_name, None)
