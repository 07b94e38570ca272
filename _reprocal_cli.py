"""The ``reprocal`` console script: the CLI, with Ctrl-C during start-up (while the package and
its libraries are being imported) ending with exit status 130 and one line, not a traceback.

It lives outside the ``reprocal`` package because importing anything inside it imports the
package first, before any handler could be in place.
"""

import sys


def main() -> int:
    try:
        from reprocal.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("reprocal: interrupted\n")
        return 130
    return cli_main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
