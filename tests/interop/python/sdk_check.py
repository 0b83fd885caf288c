"""Drives VMware's Python SDK (vmware-vcenter 9.1.1.0) against dsvcr over HTTPS.

It logs in with create_vsphere_client, reads a download session (and, for one it
creates, lists, prepares and reads its files), reads a library and an item model when
asked to, asks for an unknown id, logs out, and tries calls without a live session. It prints one JSON
object saying what the SDK returned or raised at each step; the Rust test that runs
it (tests/it/interop_python.rs) checks it. dsvcr's CA comes from REQUESTS_CA_BUNDLE.
"""

import argparse
import datetime
import json

import requests
from com.vmware.content.library.item_client import DownloadSession, DownloadSessionModel
from com.vmware.vapi.std.errors_client import NotFound, Unauthenticated
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client


def plain(value):
    """The SDK's decoded value as JSON: date-times in ISO 8601, structures as dicts."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def outcome(call):
    """What a call returned, or the name of the vAPI error it raised."""
    try:
        return {"returned": plain(call())}
    except (NotFound, Unauthenticated) as error:
        return {"raised": type(error).__name__}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="HOST:PORT of dsvcr")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--session", help="a recorded download session id")
    parser.add_argument("--create", metavar="ITEM", help="create a session for ITEM first")
    parser.add_argument("--unknown", required=True, help="an id nothing recorded")
    parser.add_argument("--library", help="a library id to read with Library.get")
    parser.add_argument("--item", help="a library item id to read with Item.get")
    args = parser.parse_args()

    http = requests.Session()
    anonymous = DownloadSession(
        StubConfigurationFactory.new_std_configuration(
            get_requests_connector(session=http, url=f"https://{args.server}/api")
        )
    )
    report = {"anonymous": outcome(lambda: anonymous.get(args.unknown))}

    client = create_vsphere_client(
        server=args.server, username=args.user, password=args.password, session=http
    )
    sessions = client.content.library.item.DownloadSession
    session_id = args.session
    if args.create:
        session_id = sessions.create(
            create_spec=DownloadSessionModel(library_item_id=args.create)
        )
    report["id"] = session_id
    report["get"] = outcome(lambda: sessions.get(session_id))
    if args.create:
        files = client.content.library.item.downloadsession.File
        report["files"] = outcome(lambda: files.list(session_id))
        report["prepare"] = outcome(lambda: files.prepare(session_id, "disk.iso"))
        report["file"] = outcome(lambda: files.get(session_id, "disk.iso"))
    if args.library:
        report["library"] = outcome(lambda: client.content.Library.get(args.library))
    if args.item:
        report["item"] = outcome(lambda: client.content.library.Item.get(args.item))
    report["unknown"] = outcome(lambda: sessions.get(args.unknown))
    client.session_svc.delete()
    report["after_logout"] = outcome(lambda: sessions.get(session_id))
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
