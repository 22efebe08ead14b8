"""`python -m bus.supervise -c supervisord.conf`: supervisord, except that SIGHUP stops everything.

supervisord reads SIGHUP as "reload and start again", but a hang-up is a closed terminal or a
service manager ending `make run`: left as a reload, all four processes would outlive the session.
`supervisorctl reload` (over the control socket) still reloads."""

from __future__ import annotations

import signal

from supervisor import options, supervisord

_get_signal = options.ServerOptions.get_signal


def _hang_up_means_stop(self: options.ServerOptions) -> int | None:
    sig = _get_signal(self)
    return signal.SIGTERM if sig == signal.SIGHUP else sig


def main() -> None:
    options.ServerOptions.get_signal = _hang_up_means_stop
    supervisord.main()


if __name__ == "__main__":
    main()
