"""The phases of a WebSocket connection: one table owns every move."""

from __future__ import annotations

import pytest
from ws_harness import Pair

from inspector.protocols.wsstate import Phase, PhaseError, PhaseMachine, Role


def test_a_client_goes_idle_handshake_open_ended() -> None:
    pair = Pair()
    assert pair.client.phase is Phase.IDLE and pair.client.role is Role.CLIENT
    pair.to_server(pair.client.start(pair.t_ns))
    assert pair.client.phase is Phase.HANDSHAKE
    request = pair.server_events.pop(0)
    pair.server.send_response(pair.server.accept(request))
    pair.flush_server()
    assert pair.client.phase is Phase.OPEN and pair.client.handshake_done
    pair.client.receive_eof(pair.t_ns + 1)
    assert pair.client.phase is Phase.ENDED and pair.client.handshake_done
    assert pair.client.receive_data(b"\x81\x00", pair.t_ns + 2) == b""


def test_a_refused_upgrade_moves_to_refused_then_ended() -> None:
    pair = Pair()
    pair.to_server(pair.client.start(pair.t_ns))
    pair.server.send_response(pair.server.reject(403, "no"))
    pair.flush_server()
    assert pair.client.phase is Phase.REFUSED and not pair.client.handshake_done
    pair.client.receive_eof(pair.t_ns + 1)
    assert pair.client.phase is Phase.ENDED


def test_the_table_refuses_a_move_it_does_not_list() -> None:
    machine = PhaseMachine(Role.SERVER)
    assert machine.phase is Phase.HANDSHAKE  # a server starts by reading the request
    with pytest.raises(PhaseError, match="no move from handshake to idle"):
        machine.enter(Phase.IDLE)
    machine.enter(Phase.OPEN)
    assert machine.upgraded
    machine.enter(Phase.ENDED)
    with pytest.raises(PhaseError):
        machine.enter(Phase.OPEN)
    assert machine.upgraded and machine.phase is Phase.ENDED
