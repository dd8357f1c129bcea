"""A small news site, bundled for `make demo` and the tests, served over real HTTP on loopback."""
