#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# ports.py: message ports from Python (test-bindings). A channel, JSON and
# binary messages, a port passed through a port (a list of ports),
# event.get_ports(), the GError of a transferred port, close. Prints "ok".
import gi
gi.require_version('Eipc', '1.0')
from gi.repository import Eipc, GLib  # noqa: E402

ctx = GLib.MainContext.default()


def wait(cond):
    deadline = GLib.get_monotonic_time() + 20 * 1000000
    while not cond():
        assert GLib.get_monotonic_time() < deadline, 'timed out'
        ctx.iteration(True)


a = Eipc.MessageChannel.new()
b = Eipc.MessageChannel()            # from properties, as a binding does
assert a.props.port1 == a.get_port1()
got = []
a.get_port2().connect('message', lambda p, e: got.append(e))
a.get_port1().post_message_json('{"n": 1}', None)
a.get_port1().post_bytes(GLib.Bytes.new(b'\x00\x01binary'))
a.get_port1().post_message_json('"take"', [b.get_port2()])
a.get_port2().start()
wait(lambda: len(got) == 3)
assert got[0].get_kind() == Eipc.EventKind.PORT_MESSAGE
assert got[0].get_data_json() == '{"n": 1}'
assert bytes(got[1].get_bytes().get_data()) == b'\x00\x01binary'
ports = got[2].get_ports()
assert len(ports) == 1 and b.get_port2().is_transferred()
try:
    b.get_port2().post_message_json('1', None)
    raise AssertionError('a transferred port posted')
except GLib.Error as error:
    assert error.matches(Eipc.error_quark(), Eipc.Error.INVALID_ARGS), error

back = []
closed = []
received = ports[0]
received.connect('message', lambda p, e: back.append(e.get_data_json()))
b.get_port1().connect('close', lambda p: closed.append(True))
b.get_port1().start()
received.start()
b.get_port1().post_message_json('"through"', None)
wait(lambda: back == ['"through"'])

# A used port moves on too, and its other end follows it.
moved = []
a.get_port2().connect('message', lambda p, e: moved.append(e))
a.get_port1().post_message_json('"again"', [received])
assert received.is_transferred()
wait(lambda: len(moved) == 1)
again = moved[0].get_ports()[0]
again.connect('message', lambda p, e: back.append(e.get_data_json()))
again.start()
b.get_port1().post_message_json('"followed"', None)
wait(lambda: back == ['"through"', '"followed"'])
again.close()
wait(lambda: closed)
print('ok')
