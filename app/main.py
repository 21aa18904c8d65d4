"""The ``rvc-studio`` entry point.

- ``rvc-studio``                     the desktop app
- ``rvc-studio FILE...``             the desktop app with FILEs added as if dropped
- ``rvc-studio convert|models|info`` the headless command line (``inference.cli``)
- ``rvc-studio --self-test``         import and exercise every heavy dependency, no window
- ``rvc-studio --version``

Start-up hygiene (``OMP_NUM_THREADS`` and friends) runs before anything heavy can load.
"""

from __future__ import annotations

import sys

CLI_COMMANDS = ("convert", "models", "info")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from inference.core.runtime import prepare_process

    prepare_process()
    # Finder on older macOS passes a process serial number; it is not a file.
    argv = [a for a in argv if not a.startswith("-psn_")]

    if argv[:1] == ["--version"]:
        from app import __version__

        print(f"RVC Studio {__version__}")
        return 0
    if argv[:1] == ["--self-test"]:
        from app.selftest import run_self_test

        return run_self_test()
    if argv and (argv[0] in CLI_COMMANDS or argv[0] in ("-h", "--help")):
        from inference.cli.main import ignore_interrupts
        from inference.cli.main import main as cli_main

        code = cli_main(argv)
        ignore_interrupts()  # the command is over: a late Ctrl-C must not interrupt the exit
        return code

    from app.application import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
