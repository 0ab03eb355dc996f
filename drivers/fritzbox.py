"""FRITZ!Box over TR-064 (fritzconnection): cut and restore the internet, block hosts, WLAN, host list, phones.

What the box needs, and why the driver does it this way:

* ``ForceTermination`` alone does not keep the internet down: the box dials again within seconds.
  :meth:`FritzBoxDriver.cut_wan` therefore sets the connection trigger of the *default connection
  service* (``Layer3Forwarding1.GetDefaultConnectionService``, e.g. ``1.WANPPPConnection.1``) to
  ``Manual`` first and only then terminates; it returns the previous trigger so that
  :meth:`~FritzBoxDriver.restore_wan` can put it back.
* The host filter (``X_AVM-DE_HostFilter1``) is applied by the box asynchronously;
  :meth:`~FritzBoxDriver.host_blocked` reports the current reading and the engine polls it.
* Nothing is discovered on the panic path: :meth:`~FritzBoxDriver.open` builds one
  ``FritzConnection`` (API description from fritzconnection's cache when valid), looks up the
  default connection service and the WLAN services, and authenticates once.
* Every device call runs on one dedicated worker thread and is bounded by ``timeout``. One thread
  keeps the session warm: ``requests``' digest auth keeps its nonce per thread, so calls from the
  same thread skip the 401 challenge round trip, and the HTTP keep-alive connection is reused.
  The worker is a daemon thread: a call to a box that hangs never keeps a finished CLI command alive.

What real boxes do that the 7.29 description does not say (public trackers, modelled in
:mod:`drivers.sim.tr64` so the tests cover them):

* **Fault 707 ``DisconnectInProgress``** answers ``ForceTermination`` on newer firmware although
  the line goes down (kbr/fritzconnection#236, comment of 2026-06-16 on lab 8.24: "gives error 707
  (DisconnectInProgress), but actually restarts the connection"; #256 is its duplicate about the IGD
  alias ``WANIPConn1``, which this driver never uses: it calls the TR-064 service named by
  ``GetDefaultConnectionService``). :meth:`FritzBoxDriver.cut_wan` treats 707 as "in progress"
  and lets the engine's read-back decide.
* **FRITZ!OS 8.25** ignores ``ForceTermination`` (HTTP 200, nothing happens) unless the calling
  device may "Selbstständige Portfreigaben und das Trennen und Wiederherstellen der
  Internetverbindung für dieses Gerät erlauben" (Internet › Freigaben › Portfreigaben › device):
  iobroker-community-adapters/ioBroker.tr-064#684, home-assistant/core#172413 (7590 on 8.25).
  The read-back catches it; :meth:`FritzBoxDriver.unverified_hint` names the right.
* **Second factor**: protected actions answer 866 "second factor authentication required" (867
  blocked, 868 busy), as AVM's "TR-064 First Steps" lists (quoted in kbr/fritzconnection#262).
* The bulk host list is stale for 10-13 s after a filter change while ``GetWANAccessByIP`` is
  current in ~0.4 s (home-assistant/core#160942, PR #166158): the block is always read back with
  ``GetWANAccessByIP``, the host list only says *who* is there.
"""

from __future__ import annotations

import concurrent.futures
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from xml.etree import ElementTree

import requests
from fritzconnection import FritzConnection
from fritzconnection.core.exceptions import (
    FritzActionError,
    FritzArgumentError,
    FritzArrayIndexError,
    FritzAuthorizationError,
    FritzConnectionException,
    FritzInternalError,
    FritzLookUpError,
    FritzResourceError,
    FritzSecurityError,
    FritzServiceError,
)

from notaus.drivers.base import (
    AuthFailed,
    DriverError,
    Host,
    InvalidArgument,
    NotFound,
    NotPermitted,
    NotSupported,
    RouterDriver,
    Telephony,
    Unreachable,
    WanState,
    WlanNet,
)
from notaus.drivers.mac import mac_or_raw

T = TypeVar("T")

#: TR-064 ``ConnectionStatus`` -> notaus WAN state; anything else reads as "unknown"
WAN_STATES: dict[str, WanState] = {
    "Connected": "up",
    "Disconnected": "down",
    "Unconfigured": "down",
    "Connecting": "connecting",
    "Authenticating": "connecting",
}
RESTORE_TRIGGERS = ("AlwaysOn", "OnDemand")
#: UPnP fault a newer FRITZ!OS answers to a ForceTermination that does take the line down (#236)
DISCONNECT_IN_PROGRESS = 707
#: AVM's two-factor faults: required, blocked, busy ("TR-064 First Steps", kbr/fritzconnection#262)
SECOND_FACTOR_FAULTS = {866: "required", 867: "blocked", 868: "busy"}
#: the firmware from which the per-device "disconnect the internet" right exists (ioBroker.tr-064#684)
WAN_RIGHT_FIRMWARE = (8, 25)
WAN_RIGHT = ("Selbstständige Portfreigaben und das Trennen und Wiederherstellen der Internetverbindung für "
             "dieses Gerät erlauben")
#: driver threads (each keeps its own digest nonce warm after its first call)
WORKERS = 16
WAN_RIGHT_PLACE = "Internet › Freigaben › Portfreigaben › (dieses Gerät) › Gerät bearbeiten"
DEFAULT_PORT = 49000
DEFAULT_TLS_PORT = 49443


class FritzBoxDriver(RouterDriver):
    """A FRITZ!Box (tested against FRITZ!OS 7.29's API in the simulator).

    Options (policy device fields): ``tls`` (HTTPS on 49443), ``cache_dir`` (where fritzconnection
    caches the API description; default ``~/.cache/notaus/fritzconnection``), ``use_cache``
    (default true), ``open_timeout`` (bound for loading the description at start-up, default
    ``max(30, 6 * timeout)`` because a real box serves its 40 SCPD files slowly).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"wan", "block_host", "wlan", "hosts", "telephony"})

    def __init__(self, name: str, address: str, *, port: int | None = None, user: str = "",
                 password: str = "", timeout: float = 5.0, options: dict[str, Any] | None = None) -> None:
        super().__init__(name, address, port=port, user=user, password=password, timeout=timeout,
                         options=options)
        self.tls = bool(self.options.get("tls", False))
        if self.port is None:
            self.port = DEFAULT_TLS_PORT if self.tls else DEFAULT_PORT
        self._fc: FritzConnection | None = None
        self._worker: _DaemonWorker | None = None
        self.firmware: str = ""
        #: the engine may run this router's steps at once (host blocks, WLANs, WAN): the box answers
        #: concurrent SOAP calls; option ``parallel_calls: false`` gives the one-at-a-time behaviour
        self.parallel_calls = bool(self.options.get("parallel_calls", True))
        self._wan_service: str | None = None
        self._wlan_services: list[str] = []
        self._cache_dir: Path | None = None

    # ---------------------------------------------------------------------------- lifecycle
    def open(self) -> None:
        if self._fc is not None:
            return
        self._worker = _DaemonWorker(f"fritz-{self.name}", WORKERS if self.parallel_calls else 1)
        self._cache_dir = self._prepare_cache_dir()
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def _load(self) -> None:
        open_timeout = float(self.options.get("open_timeout", max(30.0, 6 * self.timeout)))
        self._fc = self._bounded(self._connect, "loading the TR-064 description", open_timeout)
        # the first authenticated call proves the credentials and warms the digest nonce
        if self._cache_dir is not None and not self._cache_matches_box():
            # firmware update or another box at this address: drop the cache and load afresh
            for stale in self._cache_dir.glob("*_cache.*"):
                stale.unlink(missing_ok=True)
            self._fc.session.close()
            self._fc = self._bounded(self._connect, "loading the TR-064 description", open_timeout)
        self._wlan_services = sorted(
            (s for s in self._fc.services if s.startswith("WLANConfiguration")), key=lambda s: int(s[17:]))
        self._wan_service = self._lookup_wan_service()

    def close(self) -> None:
        fc, self._fc = self._fc, None
        if fc is not None:
            fc.session.close()
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def _connect(self) -> FritzConnection:
        # fritzconnection's own cache check reads jason_boxinfo.xml from the web port (80), which a
        # locked-down box or the simulator does not serve; _cache_matches_box checks over TR-064 instead
        return FritzConnection(address=self.address, port=self.port, user=self.user or None,
                               password=self.password, timeout=self.timeout, use_tls=self.tls,
                               use_cache=self._cache_dir is not None, cache_directory=self._cache_dir,
                               verify_cache=False)

    def _prepare_cache_dir(self) -> Path | None:
        if not self.options.get("use_cache", True):
            return None
        base = Path(self.options.get("cache_dir") or Path.home() / ".cache" / "notaus" / "fritzconnection")
        # fritzconnection names the cache file by address only; keep ports apart
        cache_dir = base / f"{self.address}_{self.port}".replace(":", "_").replace("/", "_")
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return cache_dir

    def _cache_matches_box(self) -> bool:
        """Whether the loaded description belongs to the box's current model and firmware."""
        fc = self._require_fc()
        info = self._call("DeviceInfo1", "GetInfo")
        self.firmware = str(info["NewSoftwareVersion"])
        described = (fc.modelname, (fc.device_manager.system_info or (None,))[-1])
        return described == (info["NewModelName"], info["NewSoftwareVersion"])

    # ------------------------------------------------------------------------------- calls
    def _bounded(self, fn: Callable[[], T], what: str, limit: float | None = None) -> T:
        """Run ``fn`` on the driver's worker thread; give up after ``limit`` seconds; map errors."""
        if self._worker is None:
            raise DriverError(f"{self.name}: driver not opened (internal error: open() was not called)",
                              device=self.name)
        future = self._worker.submit(fn)
        limit = self.timeout if limit is None else limit
        return self._wait(future, what, limit)

    def _wait(self, future: concurrent.futures.Future[T], what: str, limit: float) -> T:
        try:
            return future.result(timeout=max(0.0, limit))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise self._unreachable(f"no answer within {self.timeout:g} s while {what}") from None
        except DriverError:
            raise
        except Exception as err:  # mapped to a sentence a person can act on
            raise self._map_error(err, what) from err

    def _call_all(self, calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Several actions at once (the worker pool runs them side by side), all bounded by one ``timeout``.

        Why: three WLANs switched one after another cost three round trips, and their read-back six.
        """
        fc = self._require_fc()
        if self._worker is None:
            raise DriverError(f"{self.name}: driver not opened (internal error: open() was not called)",
                              device=self.name)
        for service, action, _ in calls:
            if not self._has(service, action):
                raise NotSupported(f"{self.name}: this FRITZ!Box (FRITZ!OS {fc.system_version}) has no TR-064 "
                                   f"action {service}.{action}; a firmware update may add it", device=self.name)

        def bind(service: str, action: str, arguments: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            return lambda: fc.call_action(service, action, arguments=arguments)

        futures = [self._worker.submit(bind(*c)) for c in calls]
        deadline = time.monotonic() + self.timeout
        return [self._wait(f, f"calling {service}.{action}", deadline - time.monotonic())
                for f, (service, action, _) in zip(futures, calls, strict=True)]

    def _call(self, service: str, action: str, **arguments: Any) -> dict[str, Any]:
        fc = self._require_fc()
        svc = fc.services.get(service)
        if svc is None or action not in svc.actions:
            raise NotSupported(f"{self.name}: this FRITZ!Box (FRITZ!OS {fc.system_version}) has no TR-064 "
                               f"action {service}.{action}; a firmware update may add it", device=self.name)
        return self._bounded(lambda: fc.call_action(service, action, arguments=arguments),
                             f"calling {service}.{action}")

    def _require_fc(self) -> FritzConnection:
        if self._fc is None:
            raise DriverError(f"{self.name}: driver not opened (internal error: open() was not called)",
                              device=self.name)
        return self._fc

    def _has(self, service: str, action: str) -> bool:
        svc = self._require_fc().services.get(service)
        return svc is not None and action in svc.actions

    # ------------------------------------------------------------------------------ errors
    def _where(self) -> str:
        return f"{self.address}:{self.port}"

    def _unreachable(self, what: str) -> Unreachable:
        return Unreachable(
            f"{self.name}: the FRITZ!Box at {self._where()} did not answer ({what}); check that it is on and "
            f"cabled, the address and port in the policy, and that 'Zugriff für Anwendungen zulassen' (TR-064) "
            f"is switched on under Heimnetz > Netzwerk > Netzwerkeinstellungen", device=self.name)

    def _map_error(self, err: Exception, what: str) -> DriverError:
        detail = f"{type(err).__name__}: {err}"
        if isinstance(err, FritzAuthorizationError):
            return AuthFailed(
                f"{self.name}: the FRITZ!Box at {self._where()} rejected user '{self.user}' (HTTP 401): check the "
                f"user name and password in the policy against System > FRITZ!Box-Benutzer", device=self.name,
                detail=detail)
        if isinstance(err, FritzSecurityError):
            return NotPermitted(
                f"{self.name}: the TR-064 user '{self.user}' may not do this ({what}, fault 606): give the user the "
                f"right 'FRITZ!Box Einstellungen', make sure 'Zugriff für Anwendungen zulassen' is on, and on "
                f"FRITZ!OS 8.25 or later also allow this device to disconnect and restore the internet connection",
                device=self.name, detail=detail)
        if isinstance(err, FritzLookUpError | FritzArrayIndexError):
            return NotFound(f"{self.name}: the FRITZ!Box does not know the entry asked for ({what}, fault "
                            f"{'714' if isinstance(err, FritzLookUpError) else '713'}); check the address against "
                            f"the box's list under Heimnetz > Netzwerk", device=self.name, detail=detail)
        if isinstance(err, FritzServiceError | FritzActionError):
            return NotSupported(f"{self.name}: this FRITZ!Box does not offer what notaus needs ({what}); a "
                                f"firmware update may add it", device=self.name, detail=detail)
        if isinstance(err, FritzArgumentError):
            return InvalidArgument(f"{self.name}: the FRITZ!Box rejected the arguments ({what}); this is a notaus bug, "
                               f"please report it with the journal entry", device=self.name, detail=detail)
        if isinstance(err, FritzInternalError):
            return DriverError(f"{self.name}: the FRITZ!Box reported an internal error ({what}); try again, and "
                               f"restart the box if it persists", device=self.name, detail=detail)
        if isinstance(err, requests.Timeout):
            return self._unreachable(f"timeout after {self.timeout:g} s while {what}")
        if isinstance(err, requests.ConnectionError):
            return self._unreachable(f"connection failed while {what}")
        if isinstance(err, FritzResourceError):
            return self._unreachable(f"a description file was missing while {what}")
        code = fault_code(detail)
        if code in SECOND_FACTOR_FAULTS:
            return NotPermitted(
                f"{self.name}: the FRITZ!Box asks for a second factor before it does this ({what}, fault {code}: "
                f"second factor authentication {SECOND_FACTOR_FAULTS[code]}). Confirm on the box itself (press a "
                f"button on the FRITZ!Box or dial the code shown on a connected telephone; a confirmation holds "
                f"about an hour) or, where the box offers it, change how it asks under System › FRITZ!Box-Benutzer "
                f"› Anmeldung im Heimnetz › 'Ausführung bestimmter Einstellungen und Funktionen zusätzlich "
                f"bestätigen'. Until then pull the cable yourself (Kabel ziehen).",
                device=self.name, detail=detail)
        if isinstance(err, FritzConnectionException):
            text = str(err)
            if "access for applications disabled" in text:
                return NotPermitted(f"{self.name}: TR-064 is switched off on the FRITZ!Box at {self._where()}: turn "
                                    f"on 'Zugriff für Anwendungen zulassen' under Heimnetz > Netzwerk > "
                                    f"Netzwerkeinstellungen", device=self.name, detail=detail)
            if "Unable to get a connection" in text:
                return self._unreachable(f"connection failed while {what}")
        return DriverError(f"{self.name}: unexpected answer from the FRITZ!Box while {what}: {err}",
                           device=self.name, detail=detail)

    # --------------------------------------------------------------------------------- WAN
    def _lookup_wan_service(self) -> str:
        """``1.WANPPPConnection.1`` -> ``WANPPPConnection1`` (the service fritzconnection knows)."""
        value = str(self._call("Layer3Forwarding1", "GetDefaultConnectionService")["NewDefaultConnectionService"])
        parts = value.split(".")
        if len(parts) != 3:
            raise DriverError(f"{self.name}: the FRITZ!Box names an unexpected default connection ({value!r}); "
                              f"check the internet settings of the box", device=self.name)
        service = parts[1] + parts[2]
        if service not in self._require_fc().services:
            raise NotSupported(f"{self.name}: the default connection {value!r} is not controllable over TR-064",
                               device=self.name)
        return service

    def _connection_service(self) -> str:
        if self._wan_service is None:
            self._wan_service = self._lookup_wan_service()
        return self._wan_service

    def wan_status(self) -> WanState:
        status = self._call(self._connection_service(), "GetStatusInfo")["NewConnectionStatus"]
        return WAN_STATES.get(str(status), "unknown")

    def wan_trigger(self) -> str:
        """The connection trigger right now (``AlwaysOn``, ``OnDemand`` or ``Manual``), for drift checks."""
        return str(self._call(self._connection_service(), "GetInfo")["NewConnectionTrigger"])

    def cut_wan(self) -> dict[str, Any]:
        service = self._connection_service()
        previous = self.wan_trigger()
        self._call(service, "SetConnectionTrigger", NewConnectionTrigger="Manual")
        memo: dict[str, Any] = {"trigger": previous, "service": service}
        try:
            self._call(service, "ForceTermination")
        except DriverError as err:
            if fault_code(err.detail) != DISCONNECT_IN_PROGRESS:
                raise
            # newer FRITZ!OS says 707 DisconnectInProgress and does disconnect (kbr/fritzconnection#236):
            # not a failure; the engine's read-back of the WAN state is the verdict
            memo["termination"] = "in progress (fault 707 DisconnectInProgress)"
        return memo

    def unverified_hint(self, action: str) -> str:
        """What to do when the box accepted ``action`` but the read-back does not confirm it.

        The one known cause for a cut that is accepted and does nothing is FRITZ!OS 8.25's
        per-device right (ioBroker.tr-064#684); it is named whatever the firmware, because the
        version read at start-up can be older than the box's current one.
        """
        if action != "cut_wan":
            return ""
        newer = firmware_at_least(self.firmware, WAN_RIGHT_FIRMWARE)
        since = "this box runs FRITZ!OS 8.25 or later, which" if newer else "FRITZ!OS 8.25 and later"
        return (f" – {since} ignores a disconnect over TR-064 unless this device (notaus) has the right "
                f"'{WAN_RIGHT}' ({WAN_RIGHT_PLACE}); set it, then test with 'notaus drill'. Until then: "
                "Kabel ziehen (pull the router's internet cable).")

    def restore_wan(self, memo: dict[str, Any] | None = None) -> None:
        memo = memo or {}
        service = memo.get("service") or self._connection_service()
        if service not in self._require_fc().services:
            service = self._connection_service()
        # a memo taken while already cut says "Manual"; that would keep the practice offline
        trigger = memo.get("trigger") if memo.get("trigger") in RESTORE_TRIGGERS else "AlwaysOn"
        self._call(service, "SetConnectionTrigger", NewConnectionTrigger=trigger)
        self._call(service, "RequestConnection")

    # -------------------------------------------------------------------------------- IPv6
    def ipv6_lan(self) -> dict[str, Any]:
        """Whether the box hands IPv6 to the LAN: ``{"active": True|False|None, "prefix": ..., "source": ...}``.

        Why it matters: ``DisallowWANAccessByIP`` takes an IPv4 address by signature; whether the box's
        block also stops that device's IPv6 traffic is not reported anywhere. The delegated LAN prefix
        (``X_AVM_DE_GetIPv6Prefix``) and the external IPv6 address (``X_AVM_DE_GetExternalIPv6Address``,
        what Home Assistant's fritz integration reads for "ipv6_active", home-assistant/core#83665) live
        in the IGD service ``WANIPConn1``, which is absent when UPnP is off (kbr/fritzconnection#236):
        then the answer is ``None`` (unknown), never "no IPv6".
        """
        source = "WANIPConn1.X_AVM_DE_GetIPv6Prefix"
        if not self._has("WANIPConn1", "X_AVM_DE_GetIPv6Prefix"):
            return {"active": None, "prefix": "", "source": "not readable (UPnP/IGD status service off)"}
        answer = self._call("WANIPConn1", "X_AVM_DE_GetIPv6Prefix")
        prefix = str(answer.get("NewIPv6Prefix") or "")
        length = int(answer.get("NewPrefixLength") or 0)
        active = bool(prefix) and prefix not in ("::", "0::") and int(answer.get("NewValidLifetime") or 0) > 0
        return {"active": active, "prefix": f"{prefix}/{length}" if prefix else "", "source": source}

    # --------------------------------------------------------------------------- host filter
    def block_host(self, ip: str) -> None:
        self._call("X_AVM-DE_HostFilter1", "DisallowWANAccessByIP", NewIPv4Address=ip, NewDisallow=True)

    def unblock_host(self, ip: str) -> None:
        self._call("X_AVM-DE_HostFilter1", "DisallowWANAccessByIP", NewIPv4Address=ip, NewDisallow=False)

    def host_blocked(self, ip: str) -> bool:
        """The box's *effective* reading (``NewWANAccess == "denied"``), not the requested setting."""
        return self._call("X_AVM-DE_HostFilter1", "GetWANAccessByIP", NewIPv4Address=ip)["NewWANAccess"] == "denied"

    # -------------------------------------------------------------------------------- WLAN
    def wlan_status(self) -> list[WlanNet]:
        services = self._wlan_services
        ext = [s for s in services if self._has(s, "X_AVM-DE_GetWLANExtInfo")]
        none: dict[str, Any] = {}
        answers = self._call_all([(s, "GetInfo", none) for s in services]
                                 + [(s, "X_AVM-DE_GetWLANExtInfo", none) for s in ext])
        infos, ext_infos = answers[:len(services)], dict(zip(ext, answers[len(services):], strict=True))
        nets = []
        for i, (service, info) in enumerate(zip(services, infos, strict=True)):
            if service in ext_infos:
                guest = ext_infos[service].get("NewX_AVM-DE_APType") == "guest"
            else:  # the last of three or more WLANs is the guest network on FRITZ!Boxes
                guest = len(services) >= 3 and i == len(services) - 1
            nets.append(WlanNet(index=int(service[17:]), ssid=str(info["NewSSID"]), enabled=bool(info["NewEnable"]),
                                guest=guest))
        return nets

    def set_wlan(self, enabled: bool) -> None:
        if not self._wlan_services:
            raise NotSupported(f"{self.name}: this FRITZ!Box has no WLAN", device=self.name)
        self._call_all([(service, "SetEnable", {"NewEnable": enabled}) for service in self._wlan_services])

    # ------------------------------------------------------------------------------- hosts
    def hosts(self) -> list[Host]:
        if self._has("Hosts1", "X_AVM-DE_GetHostListPath"):
            path = str(self._call("Hosts1", "X_AVM-DE_GetHostListPath")["NewX_AVM-DE_HostListPath"])
            fc = self._require_fc()

            def fetch() -> bytes:
                with fc.session.get(f"{fc.address}:{fc.port}{path}", timeout=self.timeout) as response:
                    response.raise_for_status()
                    return response.content

            root = ElementTree.fromstring(self._bounded(fetch, "reading the host list"))
            return [Host(ip=item.findtext("IPAddress") or "", mac=mac_or_raw(item.findtext("MACAddress") or ""),
                         name=item.findtext("HostName") or "", active=item.findtext("Active") == "1",
                         interface=item.findtext("InterfaceType") or "")
                    for item in root.iter("Item")]
        count = int(self._call("Hosts1", "GetHostNumberOfEntries")["NewHostNumberOfEntries"])
        out = []
        for index in range(count):
            h = self._call("Hosts1", "GetGenericHostEntry", NewIndex=index)
            out.append(Host(ip=str(h["NewIPAddress"]), mac=mac_or_raw(h["NewMACAddress"]),
                            name=str(h["NewHostName"]), active=bool(h["NewActive"]),
                            interface=str(h["NewInterfaceType"])))
        return out

    # --------------------------------------------------------------------------- telephony
    def telephony(self) -> Telephony:
        numbers: list[str] = []
        if self._has("X_VoIP1", "X_AVM-DE_GetNumbers"):
            xml = str(self._call("X_VoIP1", "X_AVM-DE_GetNumbers")["NewNumberList"])
            numbers = [n.text.strip() for n in ElementTree.fromstring(xml).iter("Number") if n.text]
        phones: list[str] = []
        if self._has("X_VoIP1", "X_AVM-DE_GetClients"):
            xml = str(self._call("X_VoIP1", "X_AVM-DE_GetClients")["NewX_AVM-DE_ClientList"])
            phones = [p.text.strip() for p in ElementTree.fromstring(xml).iter("X_AVM-DE_PhoneName") if p.text]
        elif self._has("X_VoIP1", "X_AVM-DE_GetNumberOfClients"):
            count = int(self._call("X_VoIP1", "X_AVM-DE_GetNumberOfClients")["NewX_AVM-DE_NumberOfClients"])
            for index in range(count):
                client = self._call("X_VoIP1", "X_AVM-DE_GetClient2", **{"NewX_AVM-DE_ClientIndex": index})
                phones.append(str(client["NewX_AVM-DE_PhoneName"]))
        return Telephony(numbers=numbers, phones=phones)

    # ----------------------------------------------------------------- discovery (read-only)
    def voip_clients(self) -> list[dict[str, Any]]:
        """The IP telephony clients registered at the box (``X_VoIP1``), for ``notaus discover``.

        Each is ``{"index", "name", "username", "internal", "client_id", "outgoing"}``. TR-064 does
        not say at which IP or MAC a client registers (``X_AVM-DE_GetClient3`` has no such field),
        so discovery matches them to the host list by name. ``X_AVM-DE_GetClients`` answers a
        ``<List><Item>`` document with the fields of ``X_AVM-DE_GetClient3`` (the shape the ioBroker
        tr-064 adapter's call list reads: ``X_AVM-DE_PhoneName``, ``X_AVM-DE_InternalNumber``).
        """
        out: list[dict[str, Any]] = []
        if self._has("X_VoIP1", "X_AVM-DE_GetClients"):
            xml = str(self._call("X_VoIP1", "X_AVM-DE_GetClients")["NewX_AVM-DE_ClientList"])
            for item in ElementTree.fromstring(xml).iter("Item"):
                out.append({"index": int(item.findtext("X_AVM-DE_ClientIndex") or len(out)),
                            "name": (item.findtext("X_AVM-DE_PhoneName") or "").strip(),
                            "username": (item.findtext("X_AVM-DE_ClientUsername") or "").strip(),
                            "internal": (item.findtext("X_AVM-DE_InternalNumber") or "").strip(),
                            "client_id": (item.findtext("X_AVM-DE_ClientId") or "").strip(),
                            "outgoing": (item.findtext("X_AVM-DE_OutGoingNumber") or "").strip()})
            return out
        if not self._has("X_VoIP1", "X_AVM-DE_GetNumberOfClients"):
            return out
        action = "X_AVM-DE_GetClient3" if self._has("X_VoIP1", "X_AVM-DE_GetClient3") else "X_AVM-DE_GetClient2"
        count = int(self._call("X_VoIP1", "X_AVM-DE_GetNumberOfClients")["NewX_AVM-DE_NumberOfClients"])
        for index in range(count):
            c = self._call("X_VoIP1", action, **{"NewX_AVM-DE_ClientIndex": index})
            out.append({"index": index, "name": str(c.get("NewX_AVM-DE_PhoneName") or "").strip(),
                        "username": str(c.get("NewX_AVM-DE_ClientUsername") or "").strip(),
                        "internal": str(c.get("NewX_AVM-DE_InternalNumber") or "").strip(),
                        "client_id": str(c.get("NewX_AVM-DE_ClientId") or "").strip(),
                        "outgoing": str(c.get("NewX_AVM-DE_OutGoingNumber") or "").strip()})
        return out

    def router_info(self) -> dict[str, Any]:
        """Model, FRITZ!OS, connection type, IPv6 state and LAN address range, read-only, for discovery.

        Optional facts the firmware does not offer are left out rather than guessed.
        """
        info = self._call("DeviceInfo1", "GetInfo")
        facts: dict[str, Any] = {"vendor": str(info.get("NewManufacturerName") or "AVM"),
                                 "model": str(info["NewModelName"]), "firmware": str(info["NewSoftwareVersion"]),
                                 "serial": str(info.get("NewSerialNumber") or "")}
        service = self._connection_service()
        conn = self._call(service, "GetInfo")
        facts["connection"] = {"service": service, "type": str(conn.get("NewConnectionType") or ""),
                               "status": WAN_STATES.get(str(conn.get("NewConnectionStatus")), "unknown"),
                               "trigger": str(conn.get("NewConnectionTrigger") or "")}
        if service.startswith("WANPPP"):
            facts["connection"]["transport"] = str(conn.get("NewTransportType") or "PPPoE")
        if self._has("WANCommonInterfaceConfig1", "GetCommonLinkProperties"):
            link = self._call("WANCommonInterfaceConfig1", "GetCommonLinkProperties")
            facts["connection"]["access_type"] = str(link.get("NewWANAccessType") or "")
        ipv6: dict[str, Any] = {"available": False}
        if self._has("WANIPConn1", "X_AVM_DE_GetIPv6Prefix"):
            ipv6["available"] = True
            prefix = self._call("WANIPConn1", "X_AVM_DE_GetIPv6Prefix")
            address = self._call("WANIPConn1", "X_AVM_DE_GetExternalIPv6Address")
            ipv6["prefix"] = f"{prefix.get('NewIPv6Prefix') or ''}/{prefix.get('NewPrefixLength') or 0}"
            ipv6["address"] = str(address.get("NewExternalIPv6Address") or "")
            ipv6["active"] = bool(prefix.get("NewIPv6Prefix") or address.get("NewExternalIPv6Address"))
        facts["ipv6"] = ipv6
        if self._has("LANHostConfigManagement1", "GetInfo"):
            lan = self._call("LANHostConfigManagement1", "GetInfo")
            facts["lan"] = {"routers": str(lan.get("NewIPRouters") or ""),
                            "subnet_mask": str(lan.get("NewSubnetMask") or ""),
                            "dhcp_range": [str(lan.get("NewMinAddress") or ""), str(lan.get("NewMaxAddress") or "")]}
        return facts

    # ------------------------------------------------------------------------------- health
    def check(self) -> dict[str, Any]:
        """Read-only: box answers, credentials work, the user has the right to change settings."""
        info = self._call("DeviceInfo1", "GetInfo")
        facts: dict[str, Any] = {"model": info["NewModelName"], "firmware": info["NewSoftwareVersion"],
                                 "address": self._where()}
        if self._has("LANConfigSecurity1", "X_AVM-DE_GetCurrentUser"):
            user = self._call("LANConfigSecurity1", "X_AVM-DE_GetCurrentUser")
            rights = _parse_rights(str(user["NewX_AVM-DE_CurrentUserRights"]))
            facts["user"] = user["NewX_AVM-DE_CurrentUsername"]
            facts["rights"] = rights
            if rights.get("BoxAdmin") != "readwrite":
                raise NotPermitted(
                    f"{self.name}: the TR-064 user '{self.user}' lacks the right 'FRITZ!Box Einstellungen' (has "
                    f"'{rights.get('BoxAdmin', 'none')}'): give it that right, make sure 'Zugriff für Anwendungen "
                    f"zulassen' is on, and on FRITZ!OS 8.25 or later also allow this device to disconnect and "
                    f"restore the internet connection", device=self.name)
        service = self._connection_service()
        conn = self._call(service, "GetInfo")
        facts.update({"connection_service": service, "wan": WAN_STATES.get(str(conn["NewConnectionStatus"]),
                                                                           "unknown"),
                      "trigger": conn["NewConnectionTrigger"]})
        return facts


def _parse_rights(xml: str) -> dict[str, str]:
    """``<rights><path>BoxAdmin</path><access>readwrite</access>...`` -> ``{"BoxAdmin": "readwrite"}``."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return {}
    paths = [p.text or "" for p in root.iter("path")]
    access = [a.text or "" for a in root.iter("access")]
    return dict(zip(paths, access, strict=False))


def fault_code(text: str) -> int | None:
    """The UPnP ``errorCode`` in fritzconnection's exception text (it raises unmapped codes generically)."""
    match = re.search(r"errorCode:\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def firmware_version(software_version: str) -> tuple[int, int] | None:
    """``"154.08.25"`` (GetInfo ``NewSoftwareVersion``) or ``"8.25"`` -> ``(8, 25)``; unknown -> ``None``."""
    parts = [p for p in re.split(r"[.\s-]", software_version or "") if p.isdigit()]
    if len(parts) >= 3:
        parts = parts[-2:] if len(parts[0]) >= 3 else parts[:2]
    if len(parts) < 2:
        return None
    return int(parts[0]), int(parts[1])


def firmware_at_least(software_version: str, wanted: tuple[int, int]) -> bool:
    version = firmware_version(software_version)
    return version is not None and version >= wanted


class _DaemonWorker:
    """Long-lived daemon threads that run the driver's calls (one thread: strictly in order).

    Like a small ``ThreadPoolExecutor`` (long-lived threads = warm digest nonce and keep-alive), but
    daemons: Python joins executor threads at exit, so one HTTP request hanging on a dead box would
    keep a CLI command alive after it printed its verdict. Here the process exits at once.
    """

    def __init__(self, name: str, threads: int = 1) -> None:
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue())
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, fn))
        return future

    def shutdown(self) -> None:
        """Stop taking work; a call still running ends by its own timeout, nobody waits for it."""
        for _ in self._threads:
            self._jobs.put(None)
