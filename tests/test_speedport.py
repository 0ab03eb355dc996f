"""The Speedport driver against the Speedport simulator, over real HTTP(S) on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notaus.drivers.base import AuthFailed, NotPermitted, NotSupported, Unreachable
from notaus.drivers.registry import driver_class
from notaus.drivers.sim.speedport import SpeedportSimulator
from notaus.drivers.speedport import LoginLocked, SpeedportDriver, decrypt_payload, encrypt_payload, flatten

PASSWORD = "Geraete-Passwort-1"


class RecordingEffects:
    """RouterEffects that remembers what the simulator applied."""

    def __init__(self) -> None:
        self.wan: list[bool] = []
        self.wlan: list[bool] = []

    def apply_wan(self, up: bool) -> None:
        self.wan.append(up)

    def apply_host_block(self, ip: str, blocked: bool) -> None:
        raise AssertionError("a Speedport cannot block single hosts")

    def apply_wlan(self, enabled: bool) -> None:
        self.wlan.append(enabled)


@pytest.fixture
def effects() -> RecordingEffects:
    return RecordingEffects()


@pytest.fixture
def sim(effects: RecordingEffects) -> Iterator[SpeedportSimulator]:
    with SpeedportSimulator(password=PASSWORD, effects=effects, lock_after=3, lock_seconds=45) as s:
        yield s


def make_driver(sim: SpeedportSimulator, password: str = PASSWORD, timeout: float = 3.0,
                **options: Any) -> SpeedportDriver:
    return SpeedportDriver("speedport", "127.0.0.1", port=sim.port, password=password, timeout=timeout,
                           options=options)


@pytest.fixture
def driver(sim: SpeedportSimulator) -> Iterator[SpeedportDriver]:
    drv = make_driver(sim)
    drv.open()
    yield drv
    drv.close()


# ----------------------------------------------------------------------------------- basics
def test_registry_resolves_the_driver() -> None:
    assert driver_class("speedport") is SpeedportDriver
    assert SpeedportDriver.capabilities == {"wan", "wlan", "hosts"}


def test_open_logs_in_and_check_reports_the_device(sim: SpeedportSimulator, driver: SpeedportDriver) -> None:
    assert sim.state.logins == 1
    facts = driver.check()
    assert facts["model"] == "Speedport Smart 4"
    assert facts["firmware"] == sim.firmware
    assert facts["wan"] == "up"
    assert sim.state.logins == 1  # the warm session was reused
    assert sim.state.commands == []  # check changed nothing


def test_close_logs_out_to_free_the_single_admin_session(sim: SpeedportSimulator) -> None:
    drv = make_driver(sim)
    drv.open()
    assert len(sim.state.sessions) == 1
    drv.close()
    assert sim.state.sessions == {}


# ----------------------------------------------------------------------------------- WAN
def test_cut_and_restore_wan_read_back(sim: SpeedportSimulator, driver: SpeedportDriver,
                                       effects: RecordingEffects) -> None:
    assert driver.wan_status() == "up"
    memo = driver.cut_wan()
    assert memo == {"method": "req_connect", "command": "offline", "before": "up"}
    assert sim.state.online is False
    assert driver.wan_status() == "down"
    assert effects.wan[-1] is False

    driver.restore_wan(memo)
    assert sim.state.online is True
    assert driver.wan_status() == "up"
    assert effects.wan[-1] is True
    assert [c["req_connect"] for c in sim.state.commands] == ["offline", "online"]


def test_firmware_refusing_the_command_is_not_supported_with_its_words(
        sim: SpeedportSimulator, driver: SpeedportDriver) -> None:
    sim.reject = {"req_connect"}
    with pytest.raises(NotSupported) as err:
        driver.cut_wan()
    assert "status=error" in str(err.value)
    assert "req_connect=offline" in str(err.value)
    assert sim.state.online is True
    assert driver.wan_status() == "up"


# ----------------------------------------------------------------------------------- WLAN
def test_wlan_off_and_on(sim: SpeedportSimulator, driver: SpeedportDriver, effects: RecordingEffects) -> None:
    sim.state.wlan_guest_active = True
    before = driver.wlan_status()
    assert [(n.index, n.ssid, n.enabled, n.guest) for n in before] == [
        (1, "Praxis-WLAN", True, False), (2, "Praxis-Gast", True, True)]

    driver.set_wlan(False)
    assert sim.state.use_wlan is False and sim.state.wlan_guest_active is False
    assert not any(n.enabled for n in driver.wlan_status())
    assert effects.wlan[-1] is False

    driver.set_wlan(True)
    assert sim.state.use_wlan is True
    assert all(n.enabled for n in driver.wlan_status())
    assert effects.wlan[-1] is True


def test_office_wlan_is_switched_too_where_the_device_has_one(effects: RecordingEffects) -> None:
    with SpeedportSimulator(password=PASSWORD, office_wlan=True, effects=effects) as sim:
        sim.office_active = True
        drv = make_driver(sim)
        drv.open()
        assert {n.index for n in drv.wlan_status()} == {1, 2, 3}
        drv.set_wlan(False)
        assert sim.office_active is False
        drv.close()


# ----------------------------------------------------------------------------------- hosts
def test_hosts_lists_lan_and_wlan_clients(driver: SpeedportDriver) -> None:
    hosts = {h.ip: h for h in driver.hosts()}
    assert set(hosts) == {"192.168.2.20", "192.168.2.21", "192.168.2.40"}
    assert hosts["192.168.2.20"].mac == "aa:bb:cc:dd:ee:01"
    assert hosts["192.168.2.20"].name == "empfang-pc"
    assert hosts["192.168.2.20"].interface == "LAN"
    assert hosts["192.168.2.20"].active is True
    assert hosts["192.168.2.40"].interface == "WLAN 5 GHz"
    assert hosts["192.168.2.40"].active is False


def test_hosts_reflect_the_device_list(sim: SpeedportSimulator, driver: SpeedportDriver) -> None:
    sim.state.hosts.append({"name": "drucker", "ip": "192.168.2.60", "mac": "aa-bb-cc-dd-ee-09", "kind": "wlan"})
    printer = [h for h in driver.hosts() if h.name == "drucker"]
    assert len(printer) == 1 and printer[0].mac == "aa:bb:cc:dd:ee:09"
    assert printer[0].interface == "WLAN 2.4 GHz"


# ----------------------------------------------------------------------------------- per host
@pytest.mark.parametrize("method", ["block_host", "unblock_host", "host_blocked"])
def test_blocking_one_host_is_not_supported_and_says_why(sim: SpeedportSimulator, driver: SpeedportDriver,
                                                         method: str) -> None:
    assert not driver.supports("block_host")
    with pytest.raises(NotSupported) as err:
        getattr(driver, method)("192.168.2.20")
    assert "blocking a single machine is not possible on a Speedport; notaus uses the switch instead" \
        in str(err.value)
    assert sim.state.commands == []


# ----------------------------------------------------------------------------------- sessions
def test_expired_session_is_renewed_transparently(sim: SpeedportSimulator, driver: SpeedportDriver) -> None:
    sim.expire_sessions()
    driver.cut_wan()
    assert sim.state.online is False
    assert sim.state.logins == 2

    sim.expire_sessions()
    assert len(driver.hosts()) == 3
    assert sim.state.logins == 3


def test_relogin_is_tried_once_and_never_hammers_the_login(sim: SpeedportSimulator,
                                                           driver: SpeedportDriver) -> None:
    sim.password = "changed-by-someone"
    sim.expire_sessions()
    with pytest.raises(AuthFailed) as err:
        driver.cut_wan()
    assert not isinstance(err.value, LoginLocked)
    assert sim.state.failed_logins == 1
    assert sim.state.online is True


def test_someone_logged_in_via_browser_is_not_permitted_with_advice(sim: SpeedportSimulator) -> None:
    sim.occupy("192.168.2.50")
    with pytest.raises(NotPermitted) as err:
        make_driver(sim).open()
    assert "192.168.2.50" in str(err.value)
    assert "log out there" in str(err.value)
    assert sim.state.failed_logins == 0


# ----------------------------------------------------------------------------------- auth
def test_wrong_password_is_auth_failed_with_advice(sim: SpeedportSimulator) -> None:
    with pytest.raises(AuthFailed) as err:
        make_driver(sim, password="falsch").open()
    assert not isinstance(err.value, LoginLocked)
    assert "rejected the password" in str(err.value)
    assert "Gerätepasswort" in str(err.value)
    assert sim.state.failed_logins == 1
    assert sim.state.sessions == {}


def test_lockout_after_failed_logins_reports_the_wait(sim: SpeedportSimulator) -> None:
    for _ in range(2):
        with pytest.raises(AuthFailed):
            make_driver(sim, password="falsch").open()
    with pytest.raises(LoginLocked) as third:
        make_driver(sim, password="falsch").open()
    assert third.value.retry_after == 45

    # now even the right password is refused until the lock ends, with the remaining wait
    with pytest.raises(LoginLocked) as locked:
        make_driver(sim).open()
    assert locked.value.retry_after is not None and 0 < locked.value.retry_after <= 46
    assert f"wait {locked.value.retry_after} s" in str(locked.value)
    assert sim.state.sessions == {}


# ----------------------------------------------------------------------------------- faults
def test_hanging_device_is_unreachable_within_the_timeout(sim: SpeedportSimulator) -> None:
    drv = make_driver(sim, timeout=0.4)
    drv.open()
    sim.hang = True
    try:
        with pytest.raises(Unreachable) as err:
            drv.cut_wan()
        assert "did not answer within 0.4 s" in str(err.value)
    finally:
        sim.hang = False
    assert sim.state.online is True


def test_connection_refused_is_unreachable() -> None:
    sim = SpeedportSimulator(password=PASSWORD).start()
    port = sim.port
    sim.stop()
    drv = SpeedportDriver("sp", "127.0.0.1", port=port, password=PASSWORD, timeout=1.0)
    with pytest.raises(Unreachable) as err:
        drv.open()
    assert "cannot be reached" in str(err.value)


def test_reboot_comes_back_online_and_the_driver_logs_in_again(sim: SpeedportSimulator,
                                                               driver: SpeedportDriver) -> None:
    driver.cut_wan()
    assert driver.wan_status() == "down"
    sim.reboot(0.5)
    with pytest.raises(Unreachable):
        driver.wan_status()
    deadline = time.monotonic() + 10
    while True:
        try:
            state = driver.wan_status()
            break
        except Unreachable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert state == "up"  # the cut did not survive the restart: the engine must enforce again
    driver.cut_wan()
    assert sim.state.online is False
    assert sim.state.logins == 2


def test_latency_is_tolerated_below_the_timeout() -> None:
    with SpeedportSimulator(password=PASSWORD, latency=0.05) as sim:
        drv = make_driver(sim, timeout=2.0)
        drv.open()
        drv.cut_wan()
        assert drv.wan_status() == "down"
        drv.close()


# ----------------------------------------------------------------------------------- TLS
def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "speedport.ip")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_self_signed_needs_verify_false(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with SpeedportSimulator(password=PASSWORD, ssl_context=context) as sim:
        strict = make_driver(sim, tls=True)
        with pytest.raises(Unreachable) as err:
            strict.open()
        assert "verify: false" in str(err.value)
        assert sim.state.logins == 0

        relaxed = make_driver(sim, options={"tls": True, "verify": False})  # nested policy options
        relaxed.open()
        assert relaxed.base_url.startswith("https://")
        assert relaxed.check()["tls"] is True
        relaxed.cut_wan()
        assert sim.state.online is False
        relaxed.close()

        pinned = make_driver(sim, tls=True, verify=str(cert))  # a CA file works as well
        pinned.open()
        assert pinned.wan_status() == "down"
        pinned.close()


# ----------------------------------------------------------------------------------- codec, CLI
def test_codec_round_trip_and_flatten() -> None:
    key = bytes(range(32))
    sealed = encrypt_payload("use_wlan=0", key)
    assert decrypt_payload(sealed, key) == "use_wlan=0"
    with pytest.raises(ValueError):
        decrypt_payload(sealed, bytes(32))
    doc = [{"varid": "a", "varvalue": "1"},
           {"varid": "rows", "varvalue": [{"varid": "x", "varvalue": "1"}]},
           {"varid": "rows", "varvalue": [{"varid": "x", "varvalue": "2"}]}]
    assert flatten(doc) == {"a": "1", "rows": [{"x": "1"}, {"x": "2"}]}


def test_simulator_command_line_serves_the_driver() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "notaus.drivers.sim.speedport", "--listen", "127.0.0.1:0",
                             "--password", PASSWORD], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])
        drv = SpeedportDriver("sp", "127.0.0.1", port=port, password=PASSWORD, timeout=3.0)
        drv.open()
        drv.set_wlan(False)
        assert not any(n.enabled for n in drv.wlan_status())
        drv.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
