"""`python -m consultantos.cli`, the same as the `consultantos` script."""

from consultantos.cli import main

main()
