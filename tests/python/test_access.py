"""The spec's `@allow` rules in the Python daemon and clients, with rules put on the student
package's protocol here (as the generated `__init__.py` writes them): a call or a subscription
a rule does not let in gets `ERROR` code 14 before anything else happens, raised as
`Forbidden`; items without a rule stay open; `owner` is the daemon's uid; an unknown group
stops `serve()`. As root, real peers of another uid and groups (a forked child that drops its
privileges) check each term against `SO_PEERCRED` and `SO_PEERGROUPS`."""

from __future__ import annotations

import asyncio
import dataclasses
import grp
import os
import select
import signal
from pathlib import Path
from typing import Any, Callable

import pytest

import student_system as ss
from student_system import _medium
from test_daemon_limits import call_frame, raw_connection
from test_student import Daemon, ada

Allow = _medium.Allow
ME = os.getuid()
NOT_ME = ME + 1


def ruled(
    methods: dict[str, tuple[_medium.Allow, ...]] | None = None,
    events: dict[str, tuple[_medium.Allow, ...]] | None = None,
) -> Daemon:
    """A student daemon whose protocol carries these `@allow` rules (by wire name)."""
    p = ss._PROTOCOL

    def with_rules(
        items: dict[str, _medium.Signature], rules: dict[str, tuple[_medium.Allow, ...]] | None
    ) -> dict[str, _medium.Signature]:
        rules = rules or {}
        return {name: dataclasses.replace(s, allow=rules.get(name)) for name, s in items.items()}

    protocol = dataclasses.replace(
        p, methods=with_rules(p.methods, methods), events=with_rules(p.events, events)
    )
    daemon_class = type("RuledDaemon", (Daemon,), {"_protocol": protocol})
    daemon: Daemon = daemon_class()
    return daemon


def test_a_call_the_rule_does_not_let_in_raises_forbidden_and_the_handler_never_runs(
    serve: Any,
) -> None:
    daemon = ruled(methods={"get_student": (Allow("uid", NOT_ME),)})
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())  # no rule: anyone
        with pytest.raises(_medium.Forbidden) as raised:
            connection.get_student("s1")
        assert isinstance(raised.value, _medium.ProtocolError)
        assert raised.value.code == _medium.FORBIDDEN == 14
        assert raised.value.message == f"uid {ME} may not call `get_student`"
        assert daemon.callers == []
        # The connection goes on.
        connection.update_student(ada("s2"))
        assert set(daemon.students) == {"s1", "s2"}


def test_a_denied_call_is_answered_before_its_arguments_are_decoded_and_frees_its_id(
    serve: Any,
) -> None:
    daemon = ruled(methods={"update_student": (Allow("uid", NOT_ME),)})
    serve(daemon)
    with raw_connection(daemon) as sock:
        # Arguments of the wrong shape: the refusal, not code 2, answers them.
        sock.sendall(call_frame(7, "update_student", "not a student", 1))
        refusal = f"uid {ME} may not call `update_student`"
        assert _medium.read_frame(sock) == [_medium.ERROR, 7, _medium.FORBIDDEN, refusal]
        # Its id is free at once, for a call that is let in.
        sock.sendall(call_frame(7, "get_student", "nobody"))
        reply = _medium.read_frame(sock)
        assert reply is not None and reply[:2] == [_medium.EXCEPTION, 7], reply
    assert daemon.students == {}


def test_a_denied_subscription_is_not_stored_and_unsubscribing_is_never_refused(
    serve: Any,
) -> None:
    daemon = ruled(events={"student_added": (Allow("uid", NOT_ME),)})
    serve(daemon)
    with raw_connection(daemon) as sock:
        sock.sendall(_medium.encode_frame([_medium.SUBSCRIBE, 1, "student_added"]))
        refusal = f"uid {ME} may not subscribe to `student_added`"
        assert _medium.read_frame(sock) == [_medium.ERROR, 1, _medium.FORBIDDEN, refusal]
        # The handler fires `student_added` before its reply: the reply comes first, so the
        # connection was not subscribed.
        student = ss._PROTOCOL.methods["update_student"].encode_args((ada(),))
        sock.sendall(call_frame(2, "update_student", *student))
        assert _medium.read_frame(sock) == [_medium.VALUE, 2, None]
        sock.sendall(_medium.encode_frame([_medium.UNSUBSCRIBE, 3, "student_added"]))
        assert _medium.read_frame(sock) == [_medium.VALUE, 3, None]
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(_medium.Forbidden, match=refusal):
            connection.student_added()
        connection.update_student(ada())  # calls are not ruled


def test_the_asyncio_client_raises_forbidden_for_calls_and_subscriptions(serve: Any) -> None:
    serve(
        ruled(
            methods={"get_student": (Allow("uid", NOT_ME),)},
            events={"student_added": (Allow("gid", os.getgid() + 1),)},
        )
    )

    async def scenario() -> None:
        connection = await ss.StudentSystemAsyncConnection.connect()
        async with connection:
            with pytest.raises(_medium.Forbidden, match=f"uid {ME} may not call `get_student`"):
                await connection.get_student("s1")
            with pytest.raises(
                _medium.Forbidden, match=f"uid {ME} may not subscribe to `student_added`"
            ):
                await connection.student_added()
            await connection.update_student(ada())

    asyncio.run(scenario())


def test_owner_uid_and_primary_gid_terms_let_this_process_in(serve: Any) -> None:
    daemon = ruled(
        methods={"get_student": (Allow("owner"),), "update_student": (Allow("gid", os.getgid()),)},
        events={"student_added": (Allow("uid", NOT_ME), Allow("uid", ME))},
    )
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        events = connection.student_added()
        connection.update_student(ada())
        assert connection.get_student("s1") == ada()
        assert events.get(timeout=5) == ss.StudentAdded(2.5, ada())


def test_a_group_that_does_not_exist_stops_serve_before_it_binds(socket_dir: Path) -> None:
    daemon = ruled(methods={"get_student": (Allow("root"), Allow("group", "no-such-group-x"))})
    message = (
        "group `no-such-group-x` in the @allow rule of `get_student` does not exist on this "
        "system"
    )
    with pytest.raises(_medium.MediumError) as raised:
        daemon.serve()
    assert str(raised.value) == message
    assert not os.path.exists(daemon.socket_path)


# A peer of another uid and groups, for the tests that need root.
PEER_UID, PEER_GID = 1234, 1234
OTHER_GROUP = next(g for g in grp.getgrall() if g.gr_gid not in (0, PEER_GID))

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="peers of another uid and groups need root to drop privileges"
)


def as_peer(action: Callable[[], Any], timeout: float = 10.0) -> str:
    """`repr` of what `action` returns (or raises) in a forked child running as uid
    `PEER_UID`, primary gid `PEER_GID` and the supplementary group `OTHER_GROUP`. A fork, not
    a new interpreter: the interpreter and the generated packages may not be readable by that
    uid (both live in folders private to root here)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only its socket and msgpack, no lock of the parent's threads
        try:
            os.close(read_end)
            os.setgroups([OTHER_GROUP.gr_gid])
            os.setgid(PEER_GID)
            os.setuid(PEER_UID)
            outcome = repr(action())
        except BaseException as err:
            outcome = f"raised {err!r}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the peer did not answer in time")
        chunks = []
        while chunk := os.read(read_end, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


def peer_reply(daemon: Daemon, frame: bytes) -> Callable[[], Any]:
    """What the peer does: connect, handshake, send `frame`, return the reply."""

    def action() -> Any:
        with raw_connection(daemon) as sock:
            sock.sendall(frame)
            return _medium.read_frame(sock)

    return action


@needs_root
@pytest.mark.parametrize(
    ("term", "let_in"),
    [
        (Allow("uid", PEER_UID), True),
        (Allow("gid", PEER_GID), True),
        (Allow("gid", OTHER_GROUP.gr_gid), True),
        (Allow("group", OTHER_GROUP.gr_name), True),
        (Allow("root"), False),
        (Allow("owner"), False),
        (Allow("uid", PEER_UID + 1), False),
        (Allow("gid", PEER_GID + 1), False),
    ],
)
def test_a_peer_of_another_uid_is_let_in_by_its_uid_primary_and_supplementary_groups(
    serve: Any, socket_dir: Path, term: _medium.Allow, let_in: bool
) -> None:
    # The peer may reach the socket: its folders (the daemon keeps existing ones as they are)
    # and the socket itself.
    socket_dir.chmod(0o711)
    (socket_dir / ss._PROTOCOL.namespace).mkdir(0o711)
    daemon = ruled(methods={"get_student": (term,)}, events={"student_added": (term,)})
    daemon.socket_mode = 0o666
    serve(daemon)
    call = as_peer(peer_reply(daemon, call_frame(1, "get_student", "nobody")))
    subscribe = _medium.encode_frame([_medium.SUBSCRIBE, 1, "student_added"])
    subscription = as_peer(peer_reply(daemon, subscribe))
    if let_in:
        assert call.startswith(f"[{_medium.EXCEPTION}, 1, 'StudentNotFound'"), call
        assert subscription == repr([_medium.VALUE, 1, None])
    else:
        denied = f"uid {PEER_UID} may not call `get_student`"
        assert call == repr([_medium.ERROR, 1, _medium.FORBIDDEN, denied])
        denied = f"uid {PEER_UID} may not subscribe to `student_added`"
        assert subscription == repr([_medium.ERROR, 1, _medium.FORBIDDEN, denied])
    assert len(daemon.callers) == (1 if let_in else 0)


@needs_root
def test_root_and_owner_let_the_root_daemons_own_uid_in(serve: Any) -> None:
    daemon = ruled(methods={"get_student": (Allow("root"),), "update_student": (Allow("owner"),)})
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())
        assert connection.get_student("s1") == ada()
