"""Entry point for `pulumi up` in this directory."""

from program import program

program()
