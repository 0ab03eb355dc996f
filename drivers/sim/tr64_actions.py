"""The TR-064 actions the simulated box answers with behaviour, on top of the generic SCPD store.

Every action in the description is callable (unmodelled ``Get*`` answer the stored/default state
variable values, unmodelled setters store them). The actions notaus relies on are modelled here
against :class:`~drivers.sim.tr64_state.BoxState`, with the faults a real box returns (402 invalid
argument, 713 index out of range, 714 unknown entry).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from notaus.drivers.sim.tr64_soap import SoapFault
from notaus.drivers.sim.tr64_state import TRIGGERS, BoxState

Values = dict[str, Any]
Handler = Callable[[dict[str, str]], Values]

SERIAL = "989BCB2B93B0"


def _bool_arg(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise SoapFault(402)


def _int_arg(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SoapFault(402) from None


def _void(fn: Callable[[], None]) -> Handler:
    """A handler for an action without out-arguments."""
    def handler(a: dict[str, str]) -> Values:
        fn()
        return {}
    return handler


def _xml_list(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in items:
        cells = "".join(f"<{k}>{escape(str(v))}</{k}>" if v != "" else f"<{k} />" for k, v in item.items())
        rows.append(f"<Item>{cells}</Item>")
    return f"<?xml version=\"1.0\" encoding=\"utf-8\"?><List>{''.join(rows)}</List>"


class BoxActions:
    """Maps ``(service name, action)`` to a handler bound to one box's state."""

    def __init__(self, state: BoxState, *, model: str, firmware: str, new_sid: Callable[[], str]) -> None:
        self.state = state
        self.model = model
        self.firmware = firmware
        self.new_sid = new_sid
        self._local = threading.local()           # the calling user, set per request by the server
        #: fault answered *after* a ForceTermination that did disconnect (707 on newer FRITZ!OS, #236)
        self.termination_fault: int | None = None
        #: FRITZ!OS 8.25's per-device right to disconnect; without it ForceTermination is a silent no-op
        self.wan_right = True
        #: the delegated LAN prefix, e.g. "2001:db8:1200:3400::" (empty: the box gives the LAN no IPv6)
        self.ipv6_prefix = ""
        s = state
        wan_services = ("WANPPPConnection1", "WANIPConnection1")
        self.handlers: dict[tuple[str, str], Handler] = {
            ("DeviceInfo1", "GetInfo"): self._device_info,
            ("DeviceInfo1", "GetSecurityPort"): lambda a: {"NewSecurityPort": 49443},
            ("DeviceConfig1", "Reboot"): _void(s.reboot),
            ("LANConfigSecurity1", "X_AVM-DE_GetCurrentUser"): self._current_user,
            ("LANConfigSecurity1", "X_AVM-DE_GetUserList"): self._user_list,
            ("Layer3Forwarding1", "GetDefaultConnectionService"):
                lambda a: {"NewDefaultConnectionService": s.wan_default_service()},
            ("Layer3Forwarding1", "SetDefaultConnectionService"): self._set_default_service,
            ("X_AVM-DE_HostFilter1", "DisallowWANAccessByIP"): self._disallow,
            ("X_AVM-DE_HostFilter1", "GetWANAccessByIP"): self._wan_access,
            ("Hosts1", "GetHostNumberOfEntries"): lambda a: {"NewHostNumberOfEntries": len(s.hosts)},
            ("Hosts1", "GetGenericHostEntry"): self._generic_host,
            ("Hosts1", "GetSpecificHostEntry"): self._specific_host,
            ("Hosts1", "X_AVM-DE_GetSpecificHostEntryByIP"): self._host_by_ip,
            ("Hosts1", "X_AVM-DE_GetHostListPath"):
                lambda a: {"NewX_AVM-DE_HostListPath": f"/devicehostlist.lua?sid={self.new_sid()}"},
            ("Hosts1", "X_AVM-DE_GetChangeCounter"): lambda a: {"NewX_AVM-DE_ChangeCounter": s.host_change_counter},
            ("X_VoIP1", "X_AVM-DE_GetNumberOfNumbers"): lambda a: {"NewNumberOfNumbers": len(s.numbers)},
            ("X_VoIP1", "X_AVM-DE_GetNumbers"): self._numbers,
            ("X_VoIP1", "GetExistingVoIPNumbers"): lambda a: {"NewExistingVoIPNumbers": len(s.numbers)},
            ("X_VoIP1", "GetMaxVoIPNumbers"): lambda a: {"NewMaxVoIPNumbers": 20},
            ("X_VoIP1", "X_AVM-DE_GetNumberOfClients"): lambda a: {"NewX_AVM-DE_NumberOfClients": len(s.phones)},
            ("X_VoIP1", "X_AVM-DE_GetClient"): self._client,
            ("X_VoIP1", "X_AVM-DE_GetClient2"): self._client,
            ("X_VoIP1", "X_AVM-DE_GetClient3"): self._client,
            ("X_VoIP1", "X_AVM-DE_GetClients"): self._clients,
            # the IGD view of the internet connection (no auth on a real box, used by FritzStatus)
            ("WANIPConn1", "GetStatusInfo"): self._status_info,
            ("WANIPConn1", "ForceTermination"): _void(s.force_termination),
            ("WANIPConn1", "RequestConnection"): _void(s.request_connection),
            ("WANIPConn1", "GetExternalIPAddress"): lambda a: {"NewExternalIPAddress": self._ext_ip()},
            ("WANIPConn1", "X_AVM_DE_GetIPv6Prefix"): self._ipv6_prefix,
            ("WANIPConn1", "X_AVM_DE_GetExternalIPv6Address"): self._ipv6_external,
            ("WANCommonIFC1", "GetCommonLinkProperties"): lambda a: {
                "NewWANAccessType": "DSL", "NewLayer1UpstreamMaxBitRate": 40_000_000,
                "NewLayer1DownstreamMaxBitRate": 100_000_000, "NewPhysicalLinkStatus": "Up"},
        }
        for name in wan_services:
            self.handlers[(name, "GetStatusInfo")] = self._conn(name, self._status_info)
            self.handlers[(name, "GetInfo")] = self._conn(name, self._conn_info)
            self.handlers[(name, "SetConnectionTrigger")] = self._conn(name, self._set_trigger)
            self.handlers[(name, "ForceTermination")] = self._conn(name, self._force_termination)
            self.handlers[(name, "RequestConnection")] = self._conn(name, _void(s.request_connection))
            self.handlers[(name, "GetConnectionTypeInfo")] = self._conn(name, lambda a: {
                "NewConnectionType": "IP_Routed", "NewPossibleConnectionTypes": "IP_Routed,IP_Bridged"})
            self.handlers[(name, "GetExternalIPAddress")] = self._conn(
                name, lambda a: {"NewExternalIPAddress": self._ext_ip()})
        for wlan in state.wlans:
            svc = f"WLANConfiguration{wlan.index}"
            self.handlers[(svc, "SetEnable")] = self._wlan_set_enable(wlan.index)
            self.handlers[(svc, "GetInfo")] = self._wlan_info(wlan.index)
            self.handlers[(svc, "GetSSID")] = self._wlan_field(wlan.index, "NewSSID", "ssid")
            self.handlers[(svc, "SetSSID")] = self._wlan_set_ssid(wlan.index)
            self.handlers[(svc, "GetBSSID")] = self._wlan_field(wlan.index, "NewBSSID", "bssid")
            self.handlers[(svc, "X_AVM-DE_GetWLANExtInfo")] = self._wlan_ext(wlan.index)
            self.handlers[(svc, "GetTotalAssociations")] = self._wlan_associations(wlan.index)

    @property
    def current_user(self) -> dict[str, str]:
        """``{"name": ..., "rights": ...}`` of the user whose request this thread is answering."""
        return getattr(self._local, "user", {})

    @current_user.setter
    def current_user(self, value: dict[str, str]) -> None:
        self._local.user = value

    # --------------------------------------------------------------------------------- general
    def _device_info(self, a: dict[str, str]) -> Values:
        return {"NewManufacturerName": "AVM", "NewManufacturerOUI": "00040E", "NewModelName": self.model,
                "NewDescription": f"{self.model} {self.firmware}", "NewProductClass": "AVMFB",
                "NewSerialNumber": SERIAL, "NewSoftwareVersion": self.firmware, "NewHardwareVersion": self.model,
                "NewSpecVersion": "1.0", "NewProvisioningCode": "000.049.000.000",
                "NewUpTime": int(time.monotonic() - self.state.booted_at), "NewDeviceLog": ""}

    def _current_user(self, a: dict[str, str]) -> Values:
        access = self.current_user.get("rights", "readwrite")
        rights = "".join(f"<path>{p}</path><access>{access if p == 'BoxAdmin' else 'readwrite'}</access>"
                         for p in ("BoxAdmin", "Phone", "Dial", "NAS", "HomeAuto", "App"))
        return {"NewX_AVM-DE_CurrentUsername": self.current_user.get("name", ""),
                "NewX_AVM-DE_CurrentUserRights": f"<rights>{rights}</rights>"}

    def _user_list(self, a: dict[str, str]) -> Values:
        name = escape(self.current_user.get("name", ""))
        return {"NewX_AVM-DE_UserList": f'<List><Username last_user="1">{name}</Username></List>'}

    def _set_default_service(self, a: dict[str, str]) -> Values:
        value = a["NewDefaultConnectionService"]
        parts = value.split(".")
        if len(parts) != 3 or parts[1] not in ("WANPPPConnection", "WANIPConnection"):
            raise SoapFault(402)
        self.state.wan_service = parts[1] + "1"
        return {}

    # --------------------------------------------------------------------------------- WAN
    def _ext_ip(self) -> str:
        return self.state.wan.external_ip if self.state.wan.status == "Connected" else "0.0.0.0"

    def _conn(self, name: str, fn: Handler) -> Handler:
        """The non-default connection service is present but unconfigured, as on a real box."""
        def handler(a: dict[str, str]) -> Values:
            if name != self.state.wan_service:
                if fn == self._status_info or fn == self._conn_info:
                    return {"NewConnectionStatus": "Unconfigured", "NewEnable": False,
                            "NewLastConnectionError": "ERROR_NONE", "NewUptime": 0}
                raise SoapFault(820, "Internal Error (connection service not configured)")
            return fn(a)
        return handler

    def _force_termination(self, a: dict[str, str]) -> Values:
        if not self.wan_right:
            return {}                      # 8.25 without the right: answered 200, nothing happens
        self.state.force_termination()
        if self.termination_fault is not None:
            raise SoapFault(self.termination_fault)
        return {}

    def _ipv6_prefix(self, a: dict[str, str]) -> Values:
        up = bool(self.ipv6_prefix) and self.state.wan.status == "Connected"
        return {"NewIPv6Prefix": self.ipv6_prefix if up else "", "NewPrefixLength": 56 if up else 0,
                "NewValidLifetime": 7200 if up else 0, "NewPreferedLifetime": 3600 if up else 0}

    def _ipv6_external(self, a: dict[str, str]) -> Values:
        up = bool(self.ipv6_prefix) and self.state.wan.status == "Connected"
        return {"NewExternalIPv6Address": "2001:db8:ffff::17" if up else "", "NewPrefixLength": 64 if up else 0,
                "NewValidLifetime": 7200 if up else 0, "NewPreferedLifetime": 3600 if up else 0}

    def _status_info(self, a: dict[str, str]) -> Values:
        s = self.state
        with s.lock:
            return {"NewConnectionStatus": s.wan.status, "NewLastConnectionError": s.wan.last_error,
                    "NewUptime": s.wan_uptime()}

    def _conn_info(self, a: dict[str, str]) -> Values:
        s = self.state
        with s.lock:
            return {**self._status_info(a), "NewEnable": True, "NewConnectionType": "IP_Routed",
                    "NewPossibleConnectionTypes": "IP_Routed,IP_Bridged", "NewName": "mstv",
                    "NewConnectionTrigger": s.wan.trigger, "NewExternalIPAddress": self._ext_ip(),
                    "NewUserName": "anschluss@t-online.de", "NewNATEnabled": True,
                    "NewDNSServers": "217.237.150.51, 217.237.148.22", "NewMACAddress": "98:9B:CB:2B:93:B5",
                    "NewTransportType": "PPPoE", "NewRouteProtocolRx": "Off", "NewDNSEnabled": True}

    def _set_trigger(self, a: dict[str, str]) -> Values:
        trigger = a["NewConnectionTrigger"]
        if trigger not in TRIGGERS:
            raise SoapFault(402, "Invalid Args (NewConnectionTrigger must be AlwaysOn, OnDemand or Manual)")
        self.state.set_trigger(trigger)
        return {}

    # ------------------------------------------------------------------------------ host filter
    def _known_ip(self, a: dict[str, str], key: str) -> str:
        ip = a[key].strip()
        if not self.state.valid_ipv4(ip):
            raise SoapFault(402, f"Invalid Args ({key} is not an IPv4 address)")
        if self.state.host_by_ip(ip) is None:
            raise SoapFault(714)
        return ip

    def _disallow(self, a: dict[str, str]) -> Values:
        ip = self._known_ip(a, "NewIPv4Address")
        self.state.set_disallow(ip, _bool_arg(a["NewDisallow"]))
        return {}

    def _wan_access(self, a: dict[str, str]) -> Values:
        ip = self._known_ip(a, "NewIPv4Address")
        disallow, access = self.state.wan_access(ip)
        return {"NewDisallow": disallow, "NewWANAccess": access}

    # ------------------------------------------------------------------------------------ hosts
    def _host_values(self, index: int) -> Values:
        h = self.state.hosts[index]
        return {"NewIPAddress": h.ip, "NewAddressSource": "DHCP",
                "NewLeaseTimeRemaining": 864000 if h.active else 0, "NewMACAddress": h.mac,
                "NewInterfaceType": h.interface, "NewActive": h.active,
                "NewHostName": h.name}

    def _generic_host(self, a: dict[str, str]) -> Values:
        index = _int_arg(a["NewIndex"])
        if not 0 <= index < len(self.state.hosts):
            raise SoapFault(713)
        return self._host_values(index)

    def _specific_host(self, a: dict[str, str]) -> Values:
        host = self.state.host_by_mac(a["NewMACAddress"])
        if host is None:
            raise SoapFault(714)
        values = self._host_values(self.state.hosts.index(host))
        values.pop("NewMACAddress")
        return values

    def _host_by_ip(self, a: dict[str, str]) -> Values:
        ip = self._known_ip(a, "NewIPAddress")
        h = self.state.host_by_ip(ip)
        assert h is not None
        return {"NewMACAddress": h.mac, "NewActive": h.active, "NewHostName": h.name,
                "NewInterfaceType": h.interface, "NewX_AVM-DE_Port": 1 if h.interface == "Ethernet" else 0,
                "NewX_AVM-DE_Speed": 1000 if h.active else 0}

    def host_list_xml(self) -> str:
        """The document behind ``X_AVM-DE_GetHostListPath`` (format of ``devicehostlist.xml``)."""
        s = self.state
        rows = []
        with s.lock:
            for i, h in enumerate(s.hosts, start=1):
                disallow, access = s.wan_access(h.ip)
                rows.append({
                    "Index": i, "IPAddress": h.ip, "MACAddress": h.mac, "Active": int(h.active),
                    "HostName": h.name, "InterfaceType": h.interface,
                    "X_AVM-DE_Port": 1 if h.interface == "Ethernet" else 0,
                    "X_AVM-DE_Speed": (1000 if h.interface == "Ethernet" else 866) if h.active else 0,
                    "X_AVM-DE_UpdateAvailable": 0, "X_AVM-DE_UpdateSuccessful": "unknown", "X_AVM-DE_InfoURL": "",
                    "X_AVM-DE_Model": "", "X_AVM-DE_URL": "", "X_AVM-DE_Guest": 0, "X_AVM-DE_VPN": 0,
                    "X_AVM-DE_WANAccess": access, "X_AVM-DE_Disallow": int(disallow),
                })
        body = _xml_list(rows).replace("<List>", f"<List>\n<!-- devicehosts :{len(rows)} -->\n<!-- users :1 -->\n")
        return body.replace("</Item>", "</Item>\n")

    # -------------------------------------------------------------------------------- telephony
    def _numbers(self, a: dict[str, str]) -> Values:
        rows = [{"Number": n, "Type": "eVoIP", "Index": i, "Name": ""} for i, n in enumerate(self.state.numbers)]
        return {"NewNumberList": _xml_list(rows)}

    def _client_values(self, index: int) -> Values:
        p = self.state.phones[index]
        return {"NewX_AVM-DE_ClientUsername": p.username, "NewX_AVM-DE_ClientRegistrar": "fritz.box",
                "NewX_AVM-DE_ClientRegistrarPort": 5060, "NewX_AVM-DE_PhoneName": p.name,
                "NewX_AVM-DE_ClientId": "", "NewX_AVM-DE_OutGoingNumber": p.outgoing,
                "NewX_AVM-DE_InComingNumbers": "", "NewX_AVM-DE_ExternalRegistration": False,
                "NewX_AVM-DE_InternalNumber": p.internal, "NewX_AVM-DE_DelayedCallNotification": False}

    def _client(self, a: dict[str, str]) -> Values:
        index = _int_arg(a["NewX_AVM-DE_ClientIndex"])
        if not 0 <= index < len(self.state.phones):
            raise SoapFault(713)
        return self._client_values(index)

    def _clients(self, a: dict[str, str]) -> Values:
        rows = []
        for i in range(len(self.state.phones)):
            v = self._client_values(i)
            rows.append({"X_AVM-DE_ClientIndex": i, **{k[3:]: (int(x) if isinstance(x, bool) else x)
                                                        for k, x in v.items()}})
        return {"NewX_AVM-DE_ClientList": _xml_list(rows)}

    # ------------------------------------------------------------------------------------- WLAN
    def _wlan_set_enable(self, index: int) -> Handler:
        def handler(a: dict[str, str]) -> Values:
            self.state.set_wlan(index, _bool_arg(a["NewEnable"]))
            return {}
        return handler

    def _wlan_field(self, index: int, out: str, attr: str) -> Handler:
        return lambda a: {out: getattr(self.state.wlans[index - 1], attr)}

    def _wlan_associations(self, index: int) -> Handler:
        def handler(a: dict[str, str]) -> Values:
            s = self.state
            clients = sum(1 for h in s.hosts if h.interface == "802.11" and h.active)
            return {"NewTotalAssociations": clients if index == 1 and s.wlans[0].enabled else 0}
        return handler

    def _wlan_set_ssid(self, index: int) -> Handler:
        def handler(a: dict[str, str]) -> Values:
            if not 1 <= len(a["NewSSID"]) <= 32:
                raise SoapFault(402)
            self.state.wlans[index - 1].ssid = a["NewSSID"]
            return {}
        return handler

    def _wlan_info(self, index: int) -> Handler:
        def handler(a: dict[str, str]) -> Values:
            w = self.state.wlans[index - 1]
            return {"NewEnable": w.enabled, "NewStatus": "Up" if w.enabled else "Disabled", "NewMaxBitRate": "Auto",
                    "NewChannel": w.channel, "NewSSID": w.ssid, "NewBeaconType": "11i",
                    "NewX_AVM-DE_PossibleBeaconTypes": "None,11i,WPAand11i,11iandWPA3",
                    "NewMACAddressControlEnabled": False, "NewStandard": w.standard, "NewBSSID": w.bssid,
                    "NewBasicEncryptionModes": "None", "NewBasicAuthenticationMode": "None",
                    "NewMaxCharsSSID": 32, "NewMinCharsSSID": 1, "NewAllowedCharsSSID": "",
                    "NewMinCharsPSK": 64, "NewMaxCharsPSK": 64, "NewAllowedCharsPSK": "0123456789ABCDEFabcdef"}
        return handler

    def _wlan_ext(self, index: int) -> Handler:
        def handler(a: dict[str, str]) -> Values:
            w = self.state.wlans[index - 1]
            return {"NewX_AVM-DE_APEnabled": w.enabled, "NewX_AVM-DE_APType": "guest" if w.guest else "normal",
                    "NewX_AVM-DE_TimeoutActive": False, "NewX_AVM-DE_Timeout": 0, "NewX_AVM-DE_TimeRemain": 0,
                    "NewX_AVM-DE_NoForcedOff": False, "NewX_AVM-DE_UserIsolation": w.guest,
                    "NewX_AVM-DE_EncryptionMode": "11i", "NewX_AVM-DE_LastChangedStamp": 0}
        return handler
