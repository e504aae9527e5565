"""`python -m nnctl` runs the command-line tool."""

from nnctl.cli import main

main()
