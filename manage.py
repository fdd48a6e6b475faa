#!/usr/bin/env python
"""Django's command-line entry point for the governance dashboard."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import (  # noqa: PLC0415 -- Django loads after its settings module is chosen
        execute_from_command_line,
    )

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
