"""What real FRITZ!Boxes do that the 7.29 description does not say, against the simulator's options.

Public sources (read with the search tool, issues corpus):
* fault 707 ``DisconnectInProgress`` on a ForceTermination that succeeds: kbr/fritzconnection#236
  (comment 2026-06-16, lab 8.24); #256 is its duplicate (``WANIPConn1`` alias).
* FRITZ!OS 8.25 ignores the disconnect without the per-device right: ioBroker.tr-064#684,
  home-assistant/core#172413.
* fault 866 "second factor authentication required": AVM "TR-064 First Steps", quoted in
  kbr/fritzconnection#262.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from notaus.controller.doctor import firmware_lines
from notaus.controller.engine import Engine
from notaus.drivers.base import NotPermitted
from notaus.drivers.fritzbox import WAN_RIGHT, firmware_version
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.test_fritzbox_driver import make_driver, make_sim


def test_707_after_force_termination_is_in_progress_and_the_read_back_decides(tmp_path: Path) -> None:
    sim = make_sim(termination_fault=707)
    drv = make_driver(sim, tmp_path)
    try:
        drv.open()
        memo = drv.cut_wan()
        assert memo["termination"].startswith("in progress (fault 707")
        assert memo["trigger"] == "AlwaysOn"
        assert drv.wan_status() == "down"
    finally:
        drv.close()
        sim.stop()


def test_other_faults_after_force_termination_still_fail(tmp_path: Path) -> None:
    sim = make_sim()
    sim.inject_fault("WANPPPConnection1", "ForceTermination", 820)
    drv = make_driver(sim, tmp_path)
    try:
        drv.open()
        try:
            drv.cut_wan()
        except Exception as exc:  # noqa: BLE001
            assert "internal error" in str(exc)
        else:
            raise AssertionError("820 must not be taken for success")
    finally:
        drv.close()
        sim.stop()


def test_second_factor_has_its_own_message(tmp_path: Path) -> None:
    sim = make_sim(second_factor={("WANPPPConnection1", "SetConnectionTrigger")})
    drv = make_driver(sim, tmp_path)
    try:
        drv.open()
        try:
            drv.cut_wan()
        except NotPermitted as exc:
            text = str(exc)
            assert "fault 866" in text and "second factor" in text
            assert "Anmeldung im Heimnetz" in text and "Kabel ziehen" in text
            assert "unexpected answer" not in text
        else:
            raise AssertionError("866 must raise NotPermitted")
        assert sim.state.wan.status == "Connected"
    finally:
        drv.close()
        sim.stop()


def _engine_on(sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> Engine:
    return make_engine(sim.port, password="notaus-pw")


def test_engine_reports_707_cut_as_done(tmp_path: Path, make_engine: Callable[..., Engine]) -> None:
    sim = Tr064Simulator(user="notaus", password="notaus-pw", termination_fault=707, reconnect_delay=0.3).start()
    try:
        engine = _engine_on(sim, make_engine)
        result = engine.panic("full", actor="test")
        cut = next(d for d in result.devices if d.action == "cut_wan")
        assert cut.outcome == "done", cut.message
        assert result.outcome == "done"
        assert not any(e.kind == "device.result" and e.data.get("outcome") == "failed"
                       for e in engine.journal.entries())
    finally:
        sim.stop()


def test_accepted_but_wan_stays_up_names_the_8_25_right(tmp_path: Path,
                                                        make_engine: Callable[..., Engine]) -> None:
    sim = Tr064Simulator(user="notaus", password="notaus-pw", wan_right=False, firmware="154.08.25",
                         reconnect_delay=0.3).start()
    try:
        engine = _engine_on(sim, make_engine)
        engine.settings.verify_timeout = 0.5
        result = engine.panic("full", actor="test")
        cut = next(d for d in result.devices if d.action == "cut_wan")
        assert cut.outcome == "unverified"
        assert WAN_RIGHT in cut.message and "Portfreigaben" in cut.message and "8.25" in cut.message
        assert result.outcome == "partial" and result.exit_code == 2
        assert sim.state.wan.status == "Connected"
    finally:
        sim.stop()


def test_firmware_version_parsing() -> None:
    assert firmware_version("154.08.25") == (8, 25)
    assert firmware_version("154.07.29") == (7, 29)
    assert firmware_version("8.25") == (8, 25)
    assert firmware_version("") is None


class _Device:
    driver = "fritzbox"


def test_doctor_reminds_of_the_right_from_8_25_and_says_it_cannot_test() -> None:
    lines = firmware_lines("fritzbox", _Device(), {"firmware": "154.08.25"})
    assert [ln.id for ln in lines] == ["fritzbox.firmware", "fritzbox.wan_right"]
    remind = lines[1]
    assert remind.status == "warning"
    assert "nicht prüfen" in remind.de and "notaus drill" in remind.advice_de and WAN_RIGHT in remind.de
    older = firmware_lines("fritzbox", _Device(), {"firmware": "154.08.20"})
    assert [ln.id for ln in older] == ["fritzbox.firmware"]
    assert "8.20" in older[0].de
