"""VMware's Python SDK (vmware-vcenter 9.1.1.0) exporting a library item the way VMware's
samples do, against dsvcr over HTTPS.

It logs in with create_vsphere_client, finds the library by name and gets it, lists the
libraries, finds the item by name alone (as the samples' get_item_id_by_name does) and
within its library, gets it, creates a download session with a uuid4 client token, lists
its files, prepares each, polls it until PREPARED, downloads its bytes into --download,
deletes the session, reads it once more and logs out. It prints one JSON object saying
what the SDK returned or raised at each step; tests/it/interop_recorded_world.rs checks
it. dsvcr's CA comes from REQUESTS_CA_BUNDLE.
"""

import argparse
import json
import os
import time
import uuid

import requests
from com.vmware.content.library.item.downloadsession_client import File
from com.vmware.content.library.item_client import DownloadSessionModel
from com.vmware.content.library_client import Item
from com.vmware.content_client import Library
from com.vmware.vapi.std.errors_client import NotFound
from vmware.vapi.vsphere.client import create_vsphere_client

POLLS = 50


def model(value, fields):
    """The named fields of a decoded structure, enums as their strings."""
    return {field: str(getattr(value, field)) for field in fields}


def prepared(files, session_id, name):
    """file.get until the file is PREPARED; its info."""
    for _ in range(POLLS):
        info = files.get(session_id, name)
        if info.status == File.PrepareStatus.PREPARED:
            return info
        time.sleep(0.1)
    raise RuntimeError(f"{name} not PREPARED after {POLLS} polls")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="HOST:PORT of dsvcr")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--library", required=True, help="the library's name")
    parser.add_argument("--item", required=True, help="the item's name")
    parser.add_argument("--download", required=True, help="folder for the files' bytes")
    args = parser.parse_args()

    http = requests.Session()
    client = create_vsphere_client(
        server=args.server, username=args.user, password=args.password, session=http
    )
    libraries = client.content.Library
    items = client.content.library.Item
    report = {}
    found = libraries.find(Library.FindSpec(name=args.library))
    report["library.find"] = found
    library = libraries.get(found[0])
    report["library.get"] = model(library, ["id", "name", "type"])
    report["library.list"] = libraries.list()
    report["item.find"] = items.find(Item.FindSpec(name=args.item))
    report["item.find in library"] = items.find(
        Item.FindSpec(name=args.item, library_id=library.id)
    )
    item = items.get(report["item.find"][0])
    report["item.get"] = model(item, ["id", "library_id", "name", "type"])

    sessions = client.content.library.item.DownloadSession
    files = client.content.library.item.downloadsession.File
    session_id = sessions.create(
        create_spec=DownloadSessionModel(library_item_id=item.id),
        client_token=str(uuid.uuid4()),
    )
    listed = sorted(info.name for info in files.list(session_id))
    report["files"] = listed
    os.makedirs(args.download, exist_ok=True)
    for name in listed:
        files.prepare(session_id, name)
        info = prepared(files, session_id, name)
        answer = http.get(info.download_endpoint.uri)
        answer.raise_for_status()
        with open(os.path.join(args.download, name), "wb") as out:
            out.write(answer.content)
    sessions.delete(session_id)
    try:
        sessions.get(session_id)
        report["after delete"] = "returned"
    except NotFound:
        report["after delete"] = "NotFound"
    client.session_svc.delete()
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
