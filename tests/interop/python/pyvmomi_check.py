"""Drives pyvmomi (9.1.1.0) against dsvcr over vim25 SOAP, trusting dsvcr's CA.

It connects with SmartConnect, reads content.about.fullName and the datastores' names
through a container view (destroyed after), and disconnects. It prints one JSON object:
what it read, and each SOAP call pyvmomi made (managed object type, operation, the
property for a Fetch) with its outcome, since Disconnect swallows a failed Logout. The
Rust test that runs it (tests/it/interop_pyvmomi.rs) checks it. With --cookie-out, the
SOAP session cookie pyvmomi held is written there (never printed), so the test can look
for it in the cassettes.
"""

import argparse
import json
import ssl

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import SoapAdapter, vim

CALLS = []


def traced(invoke):
    """InvokeMethod, noting each call and whether it returned or which fault it raised."""

    def invoke_method(self, mo, info, args, *rest, **named):
        call = [mo._wsdlName, info.wsdlName]
        if info.wsdlName == "Fetch" and args:
            call.append(args[0])
        try:
            result = invoke(self, mo, info, args, *rest, **named)
        except Exception as error:
            CALLS.append(call + ["raised " + type(error).__name__ + ": " + str(error)])
            raise
        CALLS.append(call + ["ok"])
        return result

    return invoke_method


SoapAdapter.SoapStubAdapter.InvokeMethod = traced(SoapAdapter.SoapStubAdapter.InvokeMethod)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", required=True, help="PEM file of the CA to trust")
    parser.add_argument("--cookie-out", help="write the SOAP session cookie here")
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    si = SmartConnect(
        host=args.host,
        port=args.port,
        user=args.user,
        pwd=args.password,
        disableSslCertValidation=False,
        sslContext=context,
    )
    if args.cookie_out:
        with open(args.cookie_out, "w", encoding="utf-8") as out:
            out.write(si._stub.cookie)
    content = si.RetrieveContent()
    report = {"about": content.about.fullName}
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.Datastore], True)
    report["datastores"] = [datastore.name for datastore in view.view]
    view.Destroy()
    Disconnect(si)
    report["calls"] = CALLS
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
