"""``python -m acumatica_datasource`` runs the command line."""

from acumatica_datasource.cli import console_main

console_main()
