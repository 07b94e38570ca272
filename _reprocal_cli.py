"""The ``reprocal`` console script: the CLI, with Ctrl-C during start-up (while the package and
its libraries are being imported) ending with exit status 130 and one line, not a traceback.

It lives outside the ``reprocal`` package because importing anything inside it imports the
package first, before any handler could be in place.
"""

import sys  # already imported by the interpreter: nothing else runs before main's handler


def main(argv: list[str] | None = None) -> int:
    try:
        if sys.argv[1:] == ["--version"]:  # what click's version option prints, without click
            from reprocal._version import version_text

            sys.stdout.write(version_text() + "\n")
            return 0
        from reprocal.cli import main as cli_main

        code = cli_main(argv)
    except KeyboardInterrupt:  # before the CLI's own handler was in place, or after it returned
        sys.stderr.write("reprocal: interrupted\n")
        code = 130
    import os
    import threading

    if code == 130 and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                           if t is not threading.main_thread()):
        # interrupted while a worker is blocked in a read: do not wait for its timeout at
        # exit (what it wrote is a prefix of a .part file, resumed by the next run)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


def cifbuild() -> int:
    """The ``reprocal-cifbuild`` console script: ``reprocal cifbuild ARGS``, SAS's cifbuild
    task by its own parameters. Linked or wrapped as ``cifbuild`` first on ``PATH`` it stands
    in for SAS's (see docs/cifbuild.md); it is not installed under that name, so that
    installing reprocal never shadows SAS's own task."""
    return main(["cifbuild", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
