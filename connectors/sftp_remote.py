"""Names on the SFTP server: one plain segment at a time, sent as the bytes they came as, listed without
paramiko's UTF-8 decoding (a name that is not UTF-8 must not block its folder)."""

from __future__ import annotations

import stat
from typing import Any

import paramiko


def plain_segment(name: str) -> str:
    """A single path segment, so no name from a listing or the database can leave its folder."""
    if not name or "/" in name or "\x00" in name or name in (".", ".."):
        raise ValueError(f"not a plain file or folder name: {name!r}")
    return name


def raw_path(path: str) -> bytes:
    """A remote path as bytes: a name that is not UTF-8 (listed as surrogate escapes) is sent as it came."""
    return path.encode("utf-8", "surrogateescape")


def listdir_attr(sftp: paramiko.SFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
    """``SFTPClient.listdir_attr`` that reads names as bytes: paramiko's own decodes them as UTF-8 and fails
    on the first name that is not, which would block the whole folder; here such a name comes as surrogate
    escapes (like ``os.listdir``), to be refused with a receipt."""
    from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

    client: Any = sftp  # no public call lists names as bytes: the same requests listdir_attr makes
    attributes: Any = paramiko.SFTPAttributes
    kind, msg = client._request(CMD_OPENDIR, raw_path(path))
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    entries = []
    try:
        while True:
            try:
                kind, msg = client._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_string().decode("utf-8", "surrogateescape")
                longname = msg.get_string().decode("utf-8", "replace")
                attrs = attributes._from_msg(msg, name, longname)
                if name not in (".", ".."):
                    entries.append(attrs)
    finally:
        client._request(CMD_CLOSE, handle)
    return entries


def is_regular(attrs: paramiko.SFTPAttributes) -> bool:
    return attrs.st_mode is not None and stat.S_ISREG(attrs.st_mode)


