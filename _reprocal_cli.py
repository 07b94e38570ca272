"""The ``reprocal`` console script: the CLI, with Ctrl-C during start-up (while the package and
its libraries are being imported) ending with exit status 130 and one line, not a traceback.

It lives outside the ``reprocal`` package because importing anything inside it imports the
package first, before any handler could be in place.
"""

import os
import sys
import threading


def main() -> int:
    if sys.argv[1:] == ["--version"]:  # what click's version option prints, without click
        from reprocal._version import __version__

        sys.stdout.write(f"reprocal, version {__version__}\n")
        return 0
    try:
        from reprocal.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("reprocal: interrupted\n")
        return 130
    code = cli_main()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
