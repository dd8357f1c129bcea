"""`python -m stablecopy` runs the command-line interface."""

from stablecopy.cli import main

main()
