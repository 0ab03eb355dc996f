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
"""

from __future__ import annotations

import concurrent.futures
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

from drivers.base import (
    AuthFailed,
    DriverError,
    Host,
    NotFound,
    NotPermitted,
    NotSupported,
    RouterDriver,
    Telephony,
    Unreachable,
    WanState,
    WlanNet,
)
from drivers.mac import mac_or_raw

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
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None
        self._wan_service: str | None = None
        self._wlan_services: list[str] = []
        self._cache_dir: Path | None = None

    # ---------------------------------------------------------------------------- lifecycle
    def open(self) -> None:
        if self._fc is not None:
            return
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fritz-{self.name}")
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
            self._worker.shutdown(wait=False, cancel_futures=True)
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
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise self._unreachable(f"no answer within {limit:g} s while {what}") from None
        except DriverError:
            raise
        except Exception as err:  # mapped to a sentence a person can act on
            raise self._map_error(err, what) from err

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
            return DriverError(f"{self.name}: the FRITZ!Box rejected the arguments ({what}); this is a notaus bug, "
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
        self._call(service, "ForceTermination")
        return {"trigger": previous, "service": service}

    def restore_wan(self, memo: dict[str, Any] | None = None) -> None:
        memo = memo or {}
        service = memo.get("service") or self._connection_service()
        if service not in self._require_fc().services:
            service = self._connection_service()
        # a memo taken while already cut says "Manual"; that would keep the practice offline
        trigger = memo.get("trigger") if memo.get("trigger") in RESTORE_TRIGGERS else "AlwaysOn"
        self._call(service, "SetConnectionTrigger", NewConnectionTrigger=trigger)
        self._call(service, "RequestConnection")

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
        nets = []
        for i, service in enumerate(self._wlan_services):
            info = self._call(service, "GetInfo")
            if self._has(service, "X_AVM-DE_GetWLANExtInfo"):
                guest = self._call(service, "X_AVM-DE_GetWLANExtInfo").get("NewX_AVM-DE_APType") == "guest"
            else:  # the last of three or more WLANs is the guest network on FRITZ!Boxes
                guest = len(self._wlan_services) >= 3 and i == len(self._wlan_services) - 1
            nets.append(WlanNet(index=int(service[17:]), ssid=str(info["NewSSID"]), enabled=bool(info["NewEnable"]),
                                guest=guest))
        return nets

    def set_wlan(self, enabled: bool) -> None:
        if not self._wlan_services:
            raise NotSupported(f"{self.name}: this FRITZ!Box has no WLAN", device=self.name)
        for service in self._wlan_services:
            self._call(service, "SetEnable", NewEnable=enabled)

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
